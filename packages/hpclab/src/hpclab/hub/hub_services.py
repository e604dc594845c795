"""What every spawner of one hub process shares: the cluster's policy (policy_cache.py),
the job poller and the sweep of server jobs the hub does not know.

There is one HubServices per hub process. Creating it starts nothing; `start()` begins
the sweep, once. The hub starts it as it starts (HpclabSpawner.start_hub_services, called
by hpclab's authenticator when the hub asks it for its handlers), so the sweep runs even
with no server in the database; spawners call it again where JupyterHub hands them a
server (loading one at start-up, or starting one), for a hub with another authenticator.
The poller's loop runs while it has jobs to watch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .commands import CommandError, CommandResult, check_command, run_command
from .job_poller import JobPoller
from .orphan_jobs import sweep_orphans
from .policy_cache import PolicyCache
from .slurm_jobs import GarbledAnswer, record_mark, server_jobs, server_jobs_format
from .slurm_policy import ClusterPolicy


@dataclass(frozen=True)
class ClusterSettings:
    slurm_bin: str
    sudo: tuple[str, ...]
    policy_ttl: float
    job_query_timeout: float
    job_poll_interval: float
    job_poll_jitter: float
    job_poll_min_gap: float
    orphan_job_grace: float
    orphan_job_check_delay: float

    def command(self, name: str) -> str:
        return f"{self.slurm_bin}/{name}"

    def as_user(self, user: str, *argv: str) -> list[str]:
        return [*self.sudo, "-u", user, *argv]


async def _run_query(argv: list[str], timeout: float) -> CommandResult:
    return await run_command(argv, timeout=timeout)


class HubServices:
    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.policy_cache = PolicyCache(settings.slurm_bin, settings.policy_ttl, timeout=settings.job_query_timeout)
        self.poller = JobPoller(
            settings.command("squeue"),
            _run_query,
            interval=settings.job_poll_interval,
            jitter=settings.job_poll_jitter,
            timeout=settings.job_query_timeout,
            min_gap=settings.job_poll_min_gap,
        )
        self._sweep: asyncio.Task[list[str]] | None = None
        self._submission_checks: dict[str, asyncio.Lock] = {}

    def start(self) -> None:
        """Begin the sweep of unknown server jobs, once (needs the hub's event loop)."""
        if self._sweep is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a state loaded outside the hub's loop: a later call starts it
        self._sweep = loop.create_task(
            sweep_orphans(
                self.list_server_jobs,
                self.cancel_as,
                lambda: self.poller.watched,
                first_delay=self.settings.orphan_job_check_delay,
                grace=self.settings.orphan_job_grace,
            )
        )

    async def close(self) -> None:
        """Stop the sweep (the hub's shutdown, and tests)."""
        if self._sweep is not None and not self._sweep.done():
            self._sweep.cancel()
            await asyncio.gather(self._sweep, return_exceptions=True)

    async def policy(self) -> ClusterPolicy:
        return await self.policy_cache.get()

    def submission_check(self, user: str) -> asyncio.Lock:
        """The lock that keeps a user's sbatch --test-only checks one at a time."""
        return self._submission_checks.setdefault(user, asyncio.Lock())

    async def list_server_jobs(self, user: str | None = None) -> dict[str, str]:
        """Server jobs (job id -> user) in Slurm's queue, of one user or all."""
        only = [f"--user={user}"] if user else []
        mark = record_mark()
        listing = await check_command(
            [self.settings.command("squeue"), "--noheader", *only, f"--format={server_jobs_format(mark)}"],
            timeout=self.settings.job_query_timeout,
        )
        try:
            return server_jobs(listing, mark)
        except GarbledAnswer as error:
            raise CommandError(f"squeue's listing of server jobs was garbled: {error}") from error

    async def cancel_as(self, user: str, job_ids: list[str]) -> None:
        await check_command(self.settings.as_user(user, self.settings.command("scancel"), *job_ids), timeout=30)

    async def cancel_named_as(self, user: str, name: str) -> None:
        """Cancel user's jobs of that name: a submit interrupted before sbatch gave its
        job id may still have queued one."""
        scancel = self.settings.command("scancel")
        await check_command(self.settings.as_user(user, scancel, f"--user={user}", f"--name={name}"), timeout=30)

    async def cancel_server_jobs_of(self, user: str) -> list[str]:
        """Cancel every server job of user, queued ones included (logout); their ids."""
        job_ids = sorted(await self.list_server_jobs(user), key=int)
        if job_ids:
            await self.cancel_as(user, job_ids)
        return job_ids


_SERVICES: list[HubServices] = []  # the hub's one, once made


class ConflictingClusterSettings(RuntimeError):
    """Two spawners of one hub disagree on the cluster's settings."""


def hub_services(settings: ClusterSettings) -> HubServices:
    """The hub's one HubServices. Every spawner must agree on the cluster settings: two
    sets would mean two sweeps, each cancelling the other's server jobs as unknown."""
    if not _SERVICES:
        _SERVICES.append(HubServices(settings))
    elif _SERVICES[0].settings != settings:
        raise ConflictingClusterSettings(
            f"this hub's spawners must share one cluster configuration: {settings} differs from {_SERVICES[0].settings}"
        )
    return _SERVICES[0]

"""SLURM servers: a batch job submitted as the user through sudo, with a script built from
the validated options; the node reports the server's port (node_report.py) and, when the
hub's API is reached through TLS, fetches the server's token (token_handover.py).

Job states come from the hub's one poller (job_poller.py): never a squeue per server.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hpclab.common.hub_api import TOKEN_HANDOVER_VARIABLE, TOKEN_VARIABLES

from .batch_script import job_name, render_batch_script
from .commands import CommandError, CommandTimedOut, check_command, run_command
from .hub_urls import hub_urls_through
from .job_poller import JobPoller, JobReport, Presence
from .jupyterhub_adapter import server_label
from .options import OptionsError, SpawnOptions
from .server_kind import SpawnFailed
from .slurm_jobs import (
    GarbledAnswer,
    JobFacts,
    JobState,
    describe_finished_job,
    job_facts_format,
    parse_job_facts,
    parse_scontrol_record,
    record_mark,
    slurm_refusal,
    submitted_job_id,
)
from .slurm_policy import TimeBound
from .slurm_time import SlurmTimeError, format_slurm_time, parse_slurm_time
from .time_extension import ExtensionRefused, extended_limit, reservation_in_the_way

if TYPE_CHECKING:
    from .spawner import HpclabSpawner

# Until the node is known: the server listens on the node's interfaces, for the proxy.
ANY_ADDRESS = "0.0.0.0"
# A time as scontrol prints it (a reservation's StartTime).
_SLURM_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


class SlurmKind:
    name = "slurm"
    reports_from_node = True

    def __init__(self, spawner: HpclabSpawner) -> None:
        self._spawner = spawner
        self._settings = spawner.services.settings
        self.job_id = ""
        self.job_state: JobState | None = None
        self.time_limit_seconds = 0
        self.started_at = 0.0
        # Why the last run's job ended, shown on the home page (kept through clear_state).
        self.end_reason = ""
        # What the job asked for, shown on the home page.
        self.resources: dict[str, str] = {}
        # One extension at a time: two clicks must not both add a step to the old limit.
        self._extending = asyncio.Lock()

    @property
    def _poller(self) -> JobPoller:
        return self._spawner.services.poller

    @property
    def log_tag(self) -> str:
        return self.job_id

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        origin = self._spawner.node_hub_origin
        if not origin:
            return env
        # Servers on other nodes: the hub's API through TLS, and the token fetched
        # through it (token_handover.py) rather than sent in the job's environment.
        env = {name: value for name, value in env.items() if name not in TOKEN_VARIABLES}
        return {**env, **hub_urls_through(origin, env), TOKEN_HANDOVER_VARIABLE: str(os.getuid())}

    # ----- start ------------------------------------------------------------------------

    async def start(self, options: SpawnOptions) -> tuple[str, int]:
        spawner = self._spawner
        spawner.ip = ANY_ADDRESS
        # hpclab-singleuser reports the port it picks on the node.
        spawner.port = 0
        self.time_limit_seconds = options.time_seconds
        self.resources = requested_resources(options)
        await self._submit(options)
        while (presence := self._absorb(await self._poller.fresh_report(self.job_id))) is not Presence.RUNNING:
            if presence is Presence.ENDED:
                raise spawner.startup_failure() if spawner.startup_error else SpawnFailed(await self._why_ended())
            await asyncio.sleep(spawner.startup_poll_interval)
        self.started_at = time.time()
        spawner.ip = self.job_state.node if self.job_state else ""
        await spawner.wait_until_listening(self._end_reason)
        return spawner.ip, spawner.port

    def _batch_script(self, options: SpawnOptions, exported_names: list[str]) -> str:
        spawner = self._spawner
        return render_batch_script(
            options,
            server_name=spawner.name,
            home=pwd.getpwnam(spawner.user.name).pw_dir,
            exported_names=exported_names,
            command=[
                f"{spawner.jupyter_env_bin}/hpclab-singleuser",
                "--kind=slurm",
                "--",
                f"{spawner.jupyter_env_bin}/jupyterhub-singleuser",
                *spawner.get_args(),
            ],
        )

    async def check_submission(self, options: SpawnOptions, begin: str = "") -> None:
        """Ask Slurm whether it would take this job from this user (sbatch --test-only,
        which checks accounts, QoS and their limits, reservations, and with
        EnforcePartLimits=ALL the partition's limits and access lists, and queues
        nothing); its refusal is the user's message. begin: the start of the job's
        reservation, without which --test-only refuses a reservation still to come
        ("Invalid time specified") that sbatch itself accepts."""
        sbatch = self._settings.command("sbatch")
        user = self._spawner.user.name
        argv = self._settings.as_user(user, sbatch, "--test-only")
        # One at a time per user: requests sent in parallel queue here, not as processes.
        async with self._spawner.services.submission_check(user):
            script = self._batch_script(options, [])
            if _SLURM_TIMESTAMP.fullmatch(begin):
                shebang, _, rest = script.partition("\n")
                script = f"{shebang}\n#SBATCH --begin={begin}\n{rest}"
            result = await run_command(argv, input_text=script, timeout=30)
        if result.returncode != 0:
            raise OptionsError(f"Slurm would refuse this job: {slurm_refusal(result.stderr or result.stdout)}")

    async def _submit(self, options: SpawnOptions) -> None:
        spawner = self._spawner
        env = spawner.get_env()
        script = self._batch_script(options, list(env))
        spawner.log.debug("Batch script of %s:\n%s", server_label(spawner), script)
        sbatch = self._settings.command("sbatch")
        try:
            output = await check_command(
                [*self._settings.sudo, "-E", "-u", spawner.user.name, sbatch, "--parsable"],
                input_text=script,
                env=env,
                timeout=60,
            )
        except (CommandTimedOut, asyncio.CancelledError) as interruption:
            await asyncio.shield(self._cancel_unconfirmed_job())
            if isinstance(interruption, asyncio.CancelledError):
                raise
            raise SpawnFailed(f"Slurm did not confirm the job: {interruption}") from interruption
        except CommandError as error:
            raise SpawnFailed(f"Slurm refused the job: {error}") from error
        job_id = submitted_job_id(output)
        if job_id is None:
            raise SpawnFailed(f"sbatch gave no job id: {output.strip()!r}")
        self.job_id = job_id
        spawner.log.info("%s submitted as Slurm job %s", server_label(spawner), job_id)
        self._poller.watch(job_id)

    async def _cancel_unconfirmed_job(self) -> None:
        """sbatch, stopped before it gave the job id, may have queued the job: a job
        nobody tracks would hold the user's resources until its time limit."""
        spawner = self._spawner
        try:
            await spawner.services.cancel_named_as(spawner.user.name, job_name(spawner.name))
        except CommandError as error:
            spawner.log.warning("%s: an unconfirmed job may be left: %s", server_label(spawner), error)

    async def _end_reason(self) -> str | None:
        if self._absorb(await self._poller.fresh_report(self.job_id)) is not Presence.ENDED:
            return None
        return await self._why_ended()

    async def _why_ended(self) -> str:
        job_id = self.job_id
        scontrol = [self._settings.command("scontrol"), "show", "job", "--oneliner", job_id]
        result = await run_command(scontrol, timeout=15)
        record = parse_scontrol_record(result.stdout) if result.returncode == 0 else {}
        self._spawner.clear_state()
        return f"{describe_finished_job(job_id, record)}. Log: {self._spawner.log_file(job_id)}"

    def _absorb(self, report: JobReport) -> Presence:
        """Take the poller's report; an end is remembered for the home page."""
        if report.state is not None:
            self.job_state = report.state
        if report.presence is Presence.ENDED:
            self.end_reason = report.ended
        return report.presence

    # ----- running ----------------------------------------------------------------------

    async def poll(self) -> int | None:
        """The shared poller's last answer: "unknown", which keeps the server, until
        Slurm answers."""
        if not self.job_id:
            return 1
        presence = self._absorb(self._poller.report(self.job_id))
        if presence is Presence.PENDING and self.started_at and self.job_state and self.job_state.queued_again:
            await self._stop_requeued()
            return 1
        if presence is Presence.ENDED:
            self._spawner.clear_state()
            return 1
        return None

    async def _stop_requeued(self) -> None:
        """A running job back in the queue (requeued, despite --no-requeue, by an admin or
        a node's failure): its server is gone, and the port it had is anyone's now."""
        job_id = self.job_id
        self.end_reason = f"Slurm put job {job_id} back in the queue: the server was stopped and the job cancelled"
        self._spawner.log.warning("%s: %s", server_label(self._spawner), self.end_reason)
        try:
            await self._spawner.services.cancel_as(self._spawner.user.name, [job_id])
        except CommandError as error:
            self._spawner.log.warning("%s: job %s not cancelled: %s", server_label(self._spawner), job_id, error)
        self._spawner.clear_state()

    async def stop(self, now: bool) -> None:
        if not self.job_id:
            return
        job_id = self.job_id
        if self._poller.report(job_id).presence is not Presence.ENDED:
            self._spawner.log.info("Cancelling Slurm job %s of %s", job_id, server_label(self._spawner))
            await self._spawner.services.cancel_as(self._spawner.user.name, [job_id])
            # Wait a little for Slurm to confirm, with fresh answers shared by all stops.
            for _ in range(0 if now else 10):
                if (await self._poller.fresh_report(job_id)).presence in (Presence.ENDED, Presence.PENDING):
                    break
        self._poller.forget(job_id)

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        shown = ""
        while True:
            state = self.job_state
            message = state.describe(self.job_id) if state and self.job_id else "Submitting to Slurm"
            if message != shown:
                yield {"message": message}
                shown = message
            if state and state.running:
                return
            await asyncio.sleep(1)

    def seconds_left(self) -> int | None:
        """Until the job's scheduled end as Slurm last said it (it follows a changed
        limit); before the first answer, from the limit it was submitted with."""
        state = self.job_state
        if state is not None and state.running and state.end_time:
            try:
                return int(datetime.fromisoformat(state.end_time).timestamp() - time.time())
            except ValueError:
                return None
        if self.started_at and self.time_limit_seconds:
            return int(self.started_at + self.time_limit_seconds - time.time())
        return None

    async def session(self) -> dict[str, Any]:
        """What the server's Lab shows: the time left and whether it may ask for more."""
        left = self.seconds_left()
        rules = self._spawner.extension_rules
        # step_s 0: the site offers no extensions, and the Lab shows no button.
        offer: dict[str, Any] = {"step_s": rules.step_seconds if rules.enabled else 0, "reason": ""}
        try:
            extended_limit(rules, self._limit_seconds(), await self._bound(self.resources))
        except ExtensionRefused as refusal:
            offer["reason"] = str(refusal)
        return {
            "job_id": self.job_id,
            "seconds_left": max(left, 0) if left is not None else None,
            "time_limit": format_slurm_time(limit) if (limit := self._limit_seconds()) else "",
            "extend": offer,
        }

    def _limit_seconds(self) -> int | None:
        limit = self.job_state.time_limit if self.job_state else ""
        try:
            return parse_slurm_time(limit) if limit else self.time_limit_seconds or None
        except SlurmTimeError:
            return None

    async def _bound(self, job: dict[str, str]) -> TimeBound:
        policy = await self._spawner.user_policy()
        partition = policy.partitions.get(job.get("partition", ""))
        if partition is None:
            raise ExtensionRefused(f"the partition {job.get('partition', '')!r} is not one the hub knows")
        return policy.time_bound(partition, job.get("account", ""), job.get("qos", ""))

    async def _job_facts(self, job_id: str) -> JobFacts:
        mark = record_mark()
        squeue = [
            self._settings.command("squeue"),
            "--noheader",
            f"--jobs={job_id}",
            f"--format={job_facts_format(mark)}",
        ]
        try:
            facts = parse_job_facts(await check_command(squeue, timeout=15), mark).get(job_id)
        except (CommandError, GarbledAnswer) as error:
            raise ExtensionRefused(f"Slurm did not answer about job {job_id}: {error}") from error
        if facts is None:
            raise ExtensionRefused(f"Slurm no longer lists job {job_id}")
        return facts

    async def extend(self) -> None:
        """One step more for the running job, checked against what Slurm says of it."""
        job_id = self.job_id
        if not job_id:
            raise ExtensionRefused("the server has no Slurm job")
        async with self._extending:
            facts = await self._job_facts(job_id)
            if facts.user != self._spawner.user.name or facts.state != "RUNNING":
                raise ExtensionRefused(f"job {job_id} is not a running job of {self._spawner.user.name}")
            try:
                limit = parse_slurm_time(facts.time_limit)
                end = datetime.fromisoformat(facts.end_time)
            except (SlurmTimeError, ValueError) as error:
                raise ExtensionRefused(f"Slurm gave job {job_id} an unreadable limit or end: {error}") from error
            job = {"partition": facts.partition, "account": facts.account, "qos": facts.qos}
            wanted = extended_limit(self._spawner.extension_rules, limit, await self._bound(job))
            new_end = end + timedelta(seconds=wanted - (limit or 0))
            reservations = (await self._spawner.services.policy()).reservations
            conflict = reservation_in_the_way(reservations, facts.nodes, facts.reservation, datetime.now(), new_end)
            if conflict:
                raise ExtensionRefused(conflict)
            scontrol = self._settings.command("scontrol")
            try:
                await check_command([scontrol, "update", f"JobId={job_id}", f"TimeLimit={format_slurm_time(wanted)}"],
                                    timeout=15)  # fmt: skip
            except CommandError as error:
                raise ExtensionRefused(f"Slurm refused the new limit: {error}") from error
            self._spawner.log.info(
                "%s: Slurm job %s extended to %s", server_label(self._spawner), job_id, format_slurm_time(wanted)
            )
            self._absorb(await self._poller.fresh_report(job_id))

    def summary(self) -> dict[str, str]:
        left = self.seconds_left()
        node = self.job_state.node if self.job_state else self._spawner.ip
        return {
            "kind": "SLURM",
            "job": self.job_id,
            "node": node,
            "time_left": format_slurm_time(left) if left is not None else "",
            "end_reason": self.end_reason,
            **self.resources,
        }

    # ----- state ------------------------------------------------------------------------

    def load_state(self, state: dict[str, Any]) -> None:
        self.job_id = state.get("job_id", "")
        self.time_limit_seconds = state.get("time_limit_seconds", 0)
        self.started_at = state.get("started_at", 0.0)
        self.end_reason = state.get("end_reason", "")
        self.resources = state.get("resources", {})
        if self.job_id:
            self._poller.watch(self.job_id)

    def get_state(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "time_limit_seconds": self.time_limit_seconds,
            "started_at": self.started_at,
            "end_reason": self.end_reason,
            "resources": self.resources,
        }

    def clear_state(self) -> None:
        if self.job_id:
            self._poller.forget(self.job_id)
        self.job_id = ""
        self.started_at = 0.0
        self.job_state = None


def requested_resources(options: SpawnOptions) -> dict[str, str]:
    """What a job asked for, as the home page shows it."""
    memory = options.memory_mb
    gpus = f"{options.gpus} {options.gpu_type}" if options.gpu_type else str(options.gpus)
    return {
        "account": options.account,
        "qos": options.qos,
        "partition": options.partition,
        "cpus": str(options.cpus),
        "memory": (f"{memory // 1024}G" if memory % 1024 == 0 else f"{memory}M") if memory else "default",
        "gpus": gpus,
    }

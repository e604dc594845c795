"""The cluster's policy, read for every user at once and shared by every form and spawn.

One refresh asks Slurm everything the form needs (sinfo, scontrol for partitions and
reservations, sacctmgr for associations, QoS and default accounts), whoever is logged
in: a form costs no Slurm call once the policy is read. After `ttl` seconds the next
reader still gets the policy in hand while one refresh runs in the background, so a
slow controller never slows a form. A failed refresh keeps what was read before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from .cluster import parse_sinfo
from .commands import CommandError, CommandResult, run_command
from .slurm_policy import (
    ASSOCIATION_FIELDS,
    QOS_FIELDS,
    USER_FIELDS,
    Accounting,
    ClusterPolicy,
    parse_accounting,
    parse_cluster_name,
    parse_partition_access,
    parse_reservations,
)

SINFO_FORMAT = "%R|%P|%l|%c|%m|%G"
Runner = Callable[..., Awaitable[CommandResult]]
log = logging.getLogger(__name__)


class PolicyCache:
    def __init__(
        self,
        slurm_bin: str,
        ttl: float,
        *,
        timeout: float = 20,
        run: Runner = run_command,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bin = slurm_bin
        self._ttl = ttl
        self._timeout = timeout
        self._run = run
        self._clock = clock
        self._policy: ClusterPolicy | None = None
        self._read_at = float("-inf")
        self._refresh: asyncio.Task[ClusterPolicy] | None = None
        self._cluster = ""
        # Slurm commands run so far (the benchmark reports them per form).
        self.calls = 0

    async def get(self) -> ClusterPolicy:
        """The policy: read now the first time (CommandError if Slurm does not answer),
        then the last one read, refreshed in the background once older than ttl."""
        if self._policy is None:
            return await self._refreshed()
        if self._clock() - self._read_at > self._ttl and (self._refresh is None or self._refresh.done()):
            # A refresh that fails is tried again a ttl later, not at every form.
            self._read_at = self._clock()
            self._refresh = asyncio.get_running_loop().create_task(self._read())
            self._refresh.add_done_callback(_log_failure)
        return self._policy

    async def _refreshed(self) -> ClusterPolicy:
        # Readers that arrive together share one refresh.
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.get_running_loop().create_task(self._read())
        return await asyncio.shield(self._refresh)

    async def _command(self, *argv: str) -> str:
        self.calls += 1
        result = await self._run([f"{self._bin}/{argv[0]}", *argv[1:]], timeout=self._timeout)
        if result.returncode != 0:
            raise CommandError(f"{argv[0]}: {result.stderr.strip() or f'exit status {result.returncode}'}")
        return result.stdout

    async def _read(self) -> ClusterPolicy:
        if not self._cluster:
            self._cluster = parse_cluster_name(await self._command("scontrol", "show", "config"))
        sinfo, partitions, reservations, accounting = await asyncio.gather(
            self._command("sinfo", "--noheader", f"--format={SINFO_FORMAT}"),
            self._command("scontrol", "--oneliner", "show", "partition"),
            self._command("scontrol", "--oneliner", "show", "reservation"),
            self._accounting(),
        )
        self._policy = ClusterPolicy(
            partitions=parse_sinfo(sinfo),
            access=parse_partition_access(partitions),
            reservations=parse_reservations(reservations),
            accounting=accounting,
        )
        self._read_at = self._clock()
        return self._policy

    async def _accounting(self) -> Accounting | None:
        """The accounting database's view; without one (or while it does not answer) the
        last one read, None at first: accounts are then not offered, only passed on."""
        sacctmgr = ("sacctmgr", "--noheader", "--parsable2", "show")
        where = ("where", f"cluster={self._cluster}") if self._cluster else ()
        try:
            associations, qos, users = await asyncio.gather(
                self._command(*sacctmgr, "association", *where, _format(ASSOCIATION_FIELDS)),
                self._command(*sacctmgr, "qos", _format(QOS_FIELDS)),
                self._command(*sacctmgr, "user", _format(USER_FIELDS)),
            )
        except CommandError as error:
            log.info("No accounting database to read the users' accounts from: %s", error)
            return self._policy.accounting if self._policy else None
        return parse_accounting(associations, qos, users)


def _format(fields: Sequence[str]) -> str:
    return f"format={','.join(fields)}"


def _log_failure(task: asyncio.Task[ClusterPolicy]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("The cluster's policy could not be refreshed; the last one stays: %s", task.exception())

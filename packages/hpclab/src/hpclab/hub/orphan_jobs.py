"""Server jobs that the hub does not know: reported, then cancelled after a grace period.

A job named like a server's (jupyterhub-*) that no spawner watches is left from a hub
whose database was lost or restored, or from a spawn the hub gave up on. The hub
reports those it finds some time after it starts, and cancels, as their owners, the ones
that are still unclaimed a grace period later (0: report only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .commands import CommandError

log = logging.getLogger(__name__)

ListJobs = Callable[[], Awaitable[dict[str, str]]]
Cancel = Callable[[str, list[str]], Awaitable[None]]


async def sweep_orphans(
    list_jobs: ListJobs,
    cancel: Cancel,
    known: Callable[[], frozenset[str]],
    *,
    first_delay: float,
    grace: float,
) -> list[str]:
    """Report unknown server jobs, cancel those still unknown after grace; their ids."""
    await asyncio.sleep(first_delay)
    try:
        first = {job: user for job, user in (await list_jobs()).items() if job not in known()}
    except CommandError as error:
        log.warning("Could not look for server jobs unknown to the hub: %s", error)
        return []
    if not first:
        return []
    action = f"they will be cancelled in {grace:g} s unless a server claims them" if grace else "left running"
    log.warning(
        "Slurm jobs of servers unknown to the hub: %s; %s",
        ", ".join(f"{job} ({user})" for job, user in sorted(first.items())),
        action,
    )
    if not grace:
        return []
    await asyncio.sleep(grace)
    try:
        still = await list_jobs()
    except CommandError as error:
        log.warning("Could not check the unknown server jobs again; none cancelled: %s", error)
        return []
    orphans: dict[str, list[str]] = {}
    for job, user in first.items():
        if still.get(job) == user and job not in known():
            orphans.setdefault(user, []).append(job)
    for user, jobs in orphans.items():
        try:
            await cancel(user, jobs)
            log.warning("Cancelled Slurm jobs %s of %s, unknown to the hub", ", ".join(jobs), user)
        except CommandError as error:
            log.error("Could not cancel the unknown jobs %s of %s: %s", ", ".join(jobs), user, error)
    return sorted(job for jobs in orphans.values() for job in jobs)

"""More time for a running SLURM server, where the site allows it (pure).

The hub, a Slurm operator for this purpose only, raises a job's TimeLimit by one step
when the user asks. It takes nothing from the request but the wish: the job's limit,
partition, account and QoS come from Slurm, the step and the site's most from the hub's
configuration, and the bound from the cluster's policy (the partition's MaxTime, the
QoS's MaxWall, the association's MaxWall: the same rule as the form's), and no
reservation the job is not in may start on its nodes before its new end. Slurm checks
none of these when an operator raises a limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .slurm_jobs import expand_hostlist
from .slurm_policy import Reservation, TimeBound
from .slurm_time import format_slurm_time


class ExtensionRefused(Exception):
    """Why a job cannot have more time (a 409 with this message)."""


@dataclass(frozen=True)
class ExtensionRules:
    # Seconds added by one request ("+1 h").
    step_seconds: int
    # The most TimeLimit a server's job may reach through extensions; 0: extensions off.
    most_seconds: int

    @property
    def enabled(self) -> bool:
        return self.step_seconds > 0 and self.most_seconds > 0


def extended_limit(rules: ExtensionRules, limit_seconds: int | None, bound: TimeBound) -> int:
    """The job's new TimeLimit after one step, or ExtensionRefused saying why not."""
    if not rules.enabled:
        raise ExtensionRefused("this site does not extend servers' time limits")
    if limit_seconds is None:
        raise ExtensionRefused("the job has no time limit to extend")
    wanted = limit_seconds + rules.step_seconds
    caps = [(rules.most_seconds, "this site's most for '+1 h'")]
    if bound.seconds is not None:
        caps.append((bound.seconds, bound.set_by))
    most, set_by = min(caps, key=lambda cap: cap[0])
    if wanted > most:
        room = f"at most {format_slurm_time(most - limit_seconds)} more" if most > limit_seconds else "no more"
        raise ExtensionRefused(
            f"+{format_slurm_time(rules.step_seconds)} would make the job's limit {format_slurm_time(wanted)}, "
            f"past {set_by}, {format_slurm_time(most)} (the limit is {format_slurm_time(limit_seconds)}: {room})"
        )
    return wanted


def reservation_in_the_way(
    reservations: Iterable[Reservation], job_nodes: str, job_reservation: str, now: datetime, new_end: datetime
) -> str:
    """Why the job's new end would run into a reservation on its nodes that it is not in
    ("" when none would). A reservation of some cores of a node counts for the node."""
    nodes = set(expand_hostlist(job_nodes) or [])
    for reservation in reservations:
        if reservation.name == job_reservation:
            continue
        try:
            start, end = datetime.fromisoformat(reservation.start), datetime.fromisoformat(reservation.end)
        except ValueError:
            start, end = now, new_end  # unreadable times: assume the worst
        if not (start < new_end and end > now):
            continue
        reserved = expand_hostlist(reservation.nodes)
        if reserved is None or "ALL" in reserved or not nodes or nodes & set(reserved):
            return (
                f"the job's node {', '.join(sorted(nodes & set(reserved or nodes))) or job_nodes} is reserved for "
                f"{reservation.name!r} from {reservation.start.replace('T', ' ')}, before the new end "
                f"{new_end.isoformat(sep=' ', timespec='minutes')}"
            )
    return ""

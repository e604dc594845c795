"""More time for a running SLURM server, where the site allows it (pure).

The hub, a Slurm operator for this purpose only, raises a job's TimeLimit by one step
when the user asks. It takes nothing from the request but the wish: the job's limit,
partition, account and QoS come from Slurm, the step and the site's most from the hub's
configuration, and the bound from the cluster's policy (the partition's MaxTime, the
QoS's MaxWall, the association's MaxWall: the same rule as the form's).
"""

from __future__ import annotations

from dataclasses import dataclass

from .slurm_policy import TimeBound
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
    caps = [(rules.most_seconds, "the site's most for a server")]
    if bound.seconds is not None:
        caps.append((bound.seconds, bound.set_by))
    most, set_by = min(caps, key=lambda cap: cap[0])
    if wanted > most:
        raise ExtensionRefused(
            f"+{format_slurm_time(rules.step_seconds)} would make the job's limit {format_slurm_time(wanted)}, "
            f"past {set_by}, {format_slurm_time(most)} (the limit is {format_slurm_time(limit_seconds)})"
        )
    return wanted

"""The idle culler's rule, for jupyterhub-idle-culler's cull_arbiter_hook (pure).

Each server is stopped after the idle limit it started with, which the spawner keeps in
its state (idle_timeouts by kind: Interactive servers share the login node, SLURM ones
hold an allocation). Idle is the hub's last activity of the server: browser traffic
through the proxy, and the server's own reports, in which the Lab counts busy kernels,
terminals, app traffic, CPU and GPU use (hpclab.lab.session). A server started before
the limit existed has none in its state and is never culled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .slurm_time import format_slurm_time

IDLE_TIMEOUT_STATE = "idle_timeout"


def cull_idle_server(*, inactive: timedelta, inactive_limit: int, server: dict[str, Any], **_: Any) -> bool:
    """True when the server has been idle past its own limit (inactive_limit, the
    culler's --timeout, only sets how often it looks)."""
    limit = (server.get("state") or {}).get(IDLE_TIMEOUT_STATE)
    if type(limit) is not int or limit <= 0:
        return False
    return inactive.total_seconds() >= limit


def idle_stop_reason(limit: int, last_activity: datetime | None, now: datetime | None = None) -> str:
    """What the home page says of a server stopped while idle past its limit (the
    culler's stop, as JupyterHub tells the spawner no more than "stop"); "" otherwise."""
    if limit <= 0 or last_activity is None:
        return ""
    # JupyterHub's database keeps naive UTC times.
    since = last_activity if last_activity.tzinfo else last_activity.replace(tzinfo=UTC)
    idle = ((now or datetime.now(UTC)) - since).total_seconds()
    if idle < limit:
        return ""
    return (
        f"Stopped as idle: no browser, kernel, terminal, app, CPU or GPU activity for "
        f"{format_slurm_time(int(idle))} (the limit is {format_slurm_time(limit)})"
    )

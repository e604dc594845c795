"""What keeps a server from being idle besides its traffic: a busy kernel, the server's
processes above a CPU share, the job's GPUs in use, and the user's "keep" (pure but for
the readers it is given).

jupyter_server counts every setting whose name ends in ``_last_activity`` in the last
activity that jupyterhub-singleuser reports to the hub, so each source is one such
setting. The traffic is counted already: the browser's requests (api_last_activity),
kernel messages, terminals, and every request and websocket message to the apps
(jupyter-server-proxy's own entry in last_activity_times).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Settings of the server's web application (jupyter_server's activity hook).
COMPUTE_ACTIVITY = "hpclab_compute_last_activity"
KEEP_ACTIVITY = "hpclab_keep_last_activity"


@dataclass
class CpuUse:
    """Cores the server's processes used between two readings of their CPU seconds."""

    read_cpu_seconds: Callable[[], float]
    clock: Callable[[], float]
    _last: tuple[float, float] | None = None

    def cores(self) -> float | None:
        now, seconds = self.clock(), self.read_cpu_seconds()
        last, self._last = self._last, (now, seconds)
        if last is None or now <= last[0]:
            return None
        return max(0.0, seconds - last[1]) / (now - last[0])


def busy_reasons(
    kernel_states: Iterable[str], cores: float | None, busy_cores: float, gpus_busy: bool | None
) -> list[str]:
    """Why the server is not idle now (empty: idle as far as computing goes)."""
    reasons = []
    busy_kernels = sum(state == "busy" for state in kernel_states)
    if busy_kernels:
        reasons.append(f"{busy_kernels} busy kernel{'s' if busy_kernels > 1 else ''}")
    if cores is not None and cores >= busy_cores:
        reasons.append(f"its processes use {cores * 100:.0f} % of a core")
    if gpus_busy:
        reasons.append("its GPUs are in use")
    return reasons

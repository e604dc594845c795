"""Power and CO2 of a user's server: RAPL energy counters, the server's share of the CPU
time, NVML for the job's GPUs, and France's real-time emission factor."""

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "hpclab.lab.power.extension"}]

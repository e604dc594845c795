"""Power of the GPUs allocated to this job, through NVML (nvidia-ml-py).

NVML sees every GPU of the node and ignores CUDA_VISIBLE_DEVICES: the job's GPUs are
matched from Slurm's variables, by index (SLURM_JOB_GPUS, SLURM_STEP_GPUS) or by UUID
(CUDA_VISIBLE_DEVICES=GPU-...). No GPU variable, no GPUs: the indicator is not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GPU_VARIABLES = ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "CUDA_VISIBLE_DEVICES")


class GpusUnavailable(Exception):
    pass


@dataclass(frozen=True)
class GpuPower:
    count: int
    power_w: float
    limit_w: float
    energy_j: float | None  # total since driver load, summed; None when a GPU lacks it


def job_gpu_ids(environment: Mapping[str, str]) -> list[str]:
    """The job's GPUs as Slurm gives them: indices ("0", "2") or UUIDs ("GPU-...")."""
    for variable in GPU_VARIABLES:
        value = environment.get(variable, "").strip()
        if value and value not in ("NoDevFiles", "-1"):
            return [item.strip() for item in value.split(",") if item.strip()]
    return []


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def job_gpu_power(nvml: Any, gpu_ids: list[str]) -> GpuPower:
    """Power and enforced limits of the job's GPUs, added up (NVML gives mW and mJ)."""
    try:
        nvml.nvmlInit()
    except Exception as error:
        raise GpusUnavailable(f"NVML is not available: {error}") from error
    try:
        handles = []
        by_uuid = {}
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            by_uuid[_text(nvml.nvmlDeviceGetUUID(handle))] = handle
            handles.append(handle)
        chosen = []
        for gpu in gpu_ids:
            if gpu in by_uuid:
                chosen.append(by_uuid[gpu])
            elif gpu.isdigit() and int(gpu) < len(handles):
                chosen.append(handles[int(gpu)])
            else:
                raise GpusUnavailable(f"GPU {gpu} of this job is not among the node's {len(handles)}")
        power = sum(nvml.nvmlDeviceGetPowerUsage(handle) for handle in chosen) / 1000
        limit = sum(nvml.nvmlDeviceGetEnforcedPowerLimit(handle) for handle in chosen) / 1000
        try:
            energy: float | None = sum(nvml.nvmlDeviceGetTotalEnergyConsumption(handle) for handle in chosen) / 1000
        except Exception:  # older GPUs have no energy counter: power is integrated instead
            energy = None
        return GpuPower(len(chosen), power, limit, energy)
    finally:
        nvml.nvmlShutdown()

"""Power and use of the GPUs allocated to this job, through NVML (nvidia-ml-py).

NVML sees every GPU of the node and ignores CUDA_VISIBLE_DEVICES: the job's GPUs are
matched from Slurm's variables, by index (SLURM_JOB_GPUS, SLURM_STEP_GPUS) or by UUID
(CUDA_VISIBLE_DEVICES=GPU-...). No GPU variable, no GPUs: the indicator is not shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
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


@contextmanager
def _job_handles(nvml: Any, gpu_ids: list[str]) -> Iterator[list[Any]]:
    """NVML handles of the job's GPUs, NVML initialised around their use."""
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
        yield chosen
    finally:
        nvml.nvmlShutdown()


def job_gpu_power(nvml: Any, gpu_ids: list[str]) -> GpuPower:
    """Power and enforced limits of the job's GPUs, added up (NVML gives mW and mJ)."""
    with _job_handles(nvml, gpu_ids) as chosen:
        power = sum(nvml.nvmlDeviceGetPowerUsage(handle) for handle in chosen) / 1000
        limit = sum(nvml.nvmlDeviceGetEnforcedPowerLimit(handle) for handle in chosen) / 1000
        try:
            energy: float | None = sum(nvml.nvmlDeviceGetTotalEnergyConsumption(handle) for handle in chosen) / 1000
        except Exception:  # older GPUs have no energy counter: power is integrated instead
            energy = None
        return GpuPower(len(chosen), power, limit, energy)


def job_gpus_busy(nvml: Any, gpu_ids: list[str]) -> bool:
    """Whether a kernel ran on one of the job's GPUs in NVML's last sample period."""
    with _job_handles(nvml, gpu_ids) as chosen:
        return any(nvml.nvmlDeviceGetUtilizationRates(handle).gpu > 0 for handle in chosen)


def job_gpu_reader(read: Callable[[Any, list[str]], T]) -> Callable[[], T | None]:
    """read (job_gpu_power, job_gpus_busy) of this job's GPUs; None without GPUs."""
    gpu_ids = job_gpu_ids(os.environ)
    if not gpu_ids:
        return lambda: None

    def read_job_gpus() -> T:
        import pynvml  # nvidia-ml-py: only where the job has GPUs

        return read(pynvml, gpu_ids)

    return read_job_gpus

from types import SimpleNamespace

import pytest

from hpclab.lab.power.gpus import GpusUnavailable, job_gpu_ids, job_gpu_power, job_gpus_busy


class FakeNvml:
    """nvidia-ml-py's calls, for a node of four GPUs (mW, mJ as NVML gives them)."""

    def __init__(self, energy=True, broken=False):
        self.gpus = [
            {
                "uuid": f"GPU-{index}aaa",
                "power": 100_000 + index * 10_000,
                "limit": 300_000,
                "energy": 5_000_000 * index,
                "utilization": 0,
            }
            for index in range(4)
        ]
        self.energy = energy
        self.broken = broken
        self.open = False

    def nvmlInit(self):  # NVML's names
        if self.broken:
            raise RuntimeError("NVML Shared Library Not Found")
        self.open = True

    def nvmlShutdown(self):
        self.open = False

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlDeviceGetUUID(self, handle):
        return self.gpus[handle]["uuid"].encode()

    def nvmlDeviceGetPowerUsage(self, handle):
        return self.gpus[handle]["power"]

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        return self.gpus[handle]["limit"]

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=self.gpus[handle]["utilization"], memory=0)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if not self.energy:
            raise RuntimeError("Not Supported")
        return self.gpus[handle]["energy"]


def test_the_jobs_gpus_from_slurm():
    assert job_gpu_ids({"SLURM_JOB_GPUS": "1,3", "CUDA_VISIBLE_DEVICES": "0,1"}) == ["1", "3"]
    assert job_gpu_ids({"CUDA_VISIBLE_DEVICES": "GPU-2aaa"}) == ["GPU-2aaa"]
    assert job_gpu_ids({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}) == []
    assert job_gpu_ids({}) == []


def test_only_the_jobs_gpus_are_added_up():
    nvml = FakeNvml()
    power = job_gpu_power(nvml, ["1", "3"])
    assert (power.count, power.power_w, power.limit_w, power.energy_j) == (2, 240.0, 600.0, 20_000.0)
    assert job_gpu_power(nvml, ["GPU-2aaa"]).power_w == 120.0
    assert not nvml.open


def test_gpus_without_energy_counters_and_missing_nvml():
    assert job_gpu_power(FakeNvml(energy=False), ["0"]).energy_j is None
    with pytest.raises(GpusUnavailable, match="NVML is not available"):
        job_gpu_power(FakeNvml(broken=True), ["0"])
    with pytest.raises(GpusUnavailable, match="GPU 7 of this job"):
        job_gpu_power(FakeNvml(), ["7"])


def test_the_jobs_gpus_are_busy_only_when_one_of_them_computes():
    nvml = FakeNvml()
    nvml.gpus[0]["utilization"] = 97  # another job's GPU
    assert job_gpus_busy(nvml, ["1", "3"]) is False
    nvml.gpus[3]["utilization"] = 12
    assert job_gpus_busy(nvml, ["1", "3"]) is True
    assert not nvml.open

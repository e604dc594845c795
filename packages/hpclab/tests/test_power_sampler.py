import pytest

from hpclab.lab.power.emission_factor import EmissionFactor, EmissionFactorSource
from hpclab.lab.power.gpus import GpuPower, GpusUnavailable
from hpclab.lab.power.rapl import find_packages
from hpclab.lab.power.sampler import PowerSampler
from powercap_trees import intel_two_packages, set_energy


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


class Counters:
    node_busy = 1000.0
    own = 10.0
    gpu_energy = 1000.0


def factors(clock, grams):
    source = EmissionFactorSource("http://unused", 56.0, "static", 3600, clock, fetch=lambda url, timeout: b"")
    source.last_good, source.last_good_at = EmissionFactor(grams, "test", "", True), clock()
    return source


@pytest.fixture
def sampler_parts(tmp_path):
    root = intel_two_packages(tmp_path / "powercap")
    clock, counters = Clock(), Counters()

    def make(gpus=lambda: GpuPower(1, 200.0, 300.0, counters.gpu_energy), powercap=root):
        return PowerSampler(
            packages=lambda: find_packages(powercap),
            node_cpu=lambda: (counters.node_busy, counters.node_busy * 2),
            own_cpu=lambda: counters.own,
            gpus=gpus,
            factors=factors(clock, 40.0),
            totals_file=tmp_path / "totals" / "default.json",
            clock=clock,
        )

    return root, clock, counters, make


def test_power_energy_and_co2_worked_out_by_hand(sampler_parts):
    root, clock, counters, make = sampler_parts
    sampler = make()
    sampler.sample()
    clock.now += 5
    set_energy(root, "intel-rapl:0", 1_000_000 + 300_000_000)  # +300 J
    set_energy(root, "intel-rapl:1", 2_000_000 + 200_000_000)  # +200 J
    counters.node_busy += 10.0  # the node was busy 10 CPU-seconds...
    counters.own += 2.5  # ...2.5 of them the server's: a quarter of 500 J
    counters.gpu_energy += 1000.0
    sampler.sample()
    state = sampler.state()
    assert state["cpu"] == {"power_w": 25.0, "limit_w": 250.0, "reason": ""}
    assert state["gpu"] == {"count": 1, "power_w": 200.0, "limit_w": 300.0}
    assert state["energy_j"] == pytest.approx(1125.0)
    assert state["co2_g"] == pytest.approx(1125.0 / 3.6e6 * 40.0)


def test_totals_survive_a_restart(sampler_parts):
    _, clock, counters, make = sampler_parts
    first = make()
    first.sample()
    clock.now += 5
    counters.gpu_energy += 3600.0
    first.sample()
    restarted = make()
    assert restarted.state()["energy_j"] == pytest.approx(3600.0)
    assert restarted.state()["since"] == first.state()["since"]


def test_without_counters_or_gpus_the_state_says_why(sampler_parts, tmp_path):
    _, clock, _, make = sampler_parts

    def no_nvml():
        raise GpusUnavailable("NVML is not available: libnvidia-ml.so.1 not found")

    sampler = make(gpus=no_nvml, powercap=tmp_path / "none")
    sampler.sample()
    clock.now += 5
    sampler.sample()
    state = sampler.state()
    assert state["cpu"]["power_w"] is None
    assert "no RAPL counters" in state["cpu"]["reason"]
    assert state["gpu"] == {"count": 0, "reason": "NVML is not available: libnvidia-ml.so.1 not found"}
    assert state["energy_j"] == 0.0

import threading
import time

import pytest

from hpclab.lab.power.emission_factor import EmissionFactor, EmissionFactorSource
from hpclab.lab.power.gpus import GpuPower, GpusUnavailable
from hpclab.lab.power.rapl import find_packages, safe_period
from hpclab.lab.power.sampler import PowerSampler
from powercap_trees import amd_without_limits, intel_two_packages, set_energy


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


class Counters:
    node_busy = 1000.0
    node_total = 64_000.0  # a 64-core node
    own = 10.0
    gpu_energy = 1000.0

    def interval(self, busy: float = 0.0, own: float = 0.0) -> None:
        """Five seconds of the node's 64 cores: busy CPU-seconds, own of them the server's."""
        self.node_total += 5 * 64
        self.node_busy += busy
        self.own += own


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
            node_cpu=lambda: (counters.node_busy, counters.node_total),
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
    sampler._allocated_share = lambda: 0.125  # the job has 8 of the node's 64 cores
    sampler.sample()
    # An idle node: the packages draw 40 W together, their idle power.
    clock.now += 5
    set_energy(root, "intel-rapl:0", 1_000_000 + 100_000_000)
    set_energy(root, "intel-rapl:1", 2_000_000 + 100_000_000)
    counters.interval()
    counters.gpu_energy += 1000.0
    sampler.sample()
    assert sampler.state()["cpu"]["power_w"] == pytest.approx(40 * 0.125)
    # A busy interval: 100 W, of which 60 W dynamic.
    clock.now += 5
    set_energy(root, "intel-rapl:0", 1_000_000 + 100_000_000 + 300_000_000)  # +300 J
    set_energy(root, "intel-rapl:1", 2_000_000 + 100_000_000 + 200_000_000)  # +200 J
    counters.interval(busy=10.0, own=2.5)  # 10 busy CPU-seconds, a quarter the server's
    counters.gpu_energy += 1000.0
    sampler.sample()
    state = sampler.state()
    assert state["cpu"] == {"power_w": pytest.approx(60 * 0.25 + 40 * 0.125), "limit_w": 250.0, "reason": ""}
    assert state["gpu"] == {"count": 1, "power_w": 200.0, "limit_w": 300.0}
    assert state["energy_j"] == pytest.approx(2000.0 + 5 * (5.0 + 20.0))
    assert state["co2_g"] == pytest.approx(state["energy_j"] / 3.6e6 * 40.0)


def test_a_nearly_idle_server_on_an_idle_node_is_charged_its_share_not_the_package(sampler_parts):
    """The old rule charged the whole package to whoever had the node's few busy ticks
    (here 5 W, then 12.5 W): now the idle power is shared by allocation, and only the
    power above idle follows the busy time."""
    root, clock, counters, make = sampler_parts
    sampler = make(gpus=no_gpus)
    sampler._allocated_share = lambda: 2 / 64
    sampler.sample()
    figures = []
    for package_uj in (25_000_000, 25_000_000 + 62_500_000 - 25_000_000, 25_000_000):
        clock.now += 5
        set_energy(root, "intel-rapl:0", int((root / "intel-rapl:0" / "energy_uj").read_text()) + package_uj)
        counters.interval(busy=0.02, own=0.02)  # a nearly idle node, that little all the server's
        sampler.sample()
        figures.append(sampler.state()["cpu"]["power_w"])
    # 5 W idle: a 2-core job bears 2/64 of it; the 7.5 W above idle is all its own.
    assert figures == pytest.approx([5 * 2 / 64, 5 * 2 / 64 + 7.5, 5 * 2 / 64])


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


def no_gpus():
    return None


def busy_interval(root, clock, counters, joules_by_zone):
    """Five seconds in which the server used all the node's busy CPU time."""
    clock.now += 5
    for directory, energy_uj in joules_by_zone.items():
        set_energy(root, directory, energy_uj)
    counters.interval(busy=10.0, own=10.0)


def test_a_zone_recreated_near_the_top_of_its_counter_is_dropped_not_counted(sampler_parts):
    root, clock, counters, make = sampler_parts
    sampler = make(gpus=no_gpus)
    sampler.sample()
    busy_interval(root, clock, counters, {"intel-rapl:0": 1_000_000 + 500_000_000})  # 100 W: fine
    sampler.sample()
    assert sampler.state()["energy_j"] == pytest.approx(500.0)
    # package-0 comes back with its counter 258 kJ further: 51,717 W for one interval.
    busy_interval(root, clock, counters, {"intel-rapl:0": 1_000_000 + 500_000_000 + 258_585_000_000})
    sampler.sample()
    state = sampler.state()
    assert state["energy_j"] == pytest.approx(500.0)
    assert state["cpu"]["power_w"] == pytest.approx(100.0)
    [problem] = state["problems"]
    assert "a reading of 51717 W, more than the 300 W the CPU packages can draw, was dropped" in problem
    # The next interval counts again.
    busy_interval(root, clock, counters, {"intel-rapl:0": 1_000_000 + 1_000_000_000 + 258_585_000_000})
    sampler.sample()
    assert sampler.state()["energy_j"] == pytest.approx(1000.0)


def test_a_counter_reset_is_dropped_not_read_as_a_wrap(sampler_parts):
    root, clock, counters, make = sampler_parts
    set_energy(root, "intel-rapl:0", 200_000_000_000)  # 200 kJ
    sampler = make(gpus=no_gpus)
    sampler.sample()
    busy_interval(root, clock, counters, {"intel-rapl:0": 1_000_000})  # reset to 1 J: "12,429 W"
    sampler.sample()
    state = sampler.state()
    assert state["energy_j"] == 0.0
    assert "a reading of 12429 W" in state["problems"][0]


def test_amd_packages_without_limits_are_held_to_the_sites_ceiling(tmp_path):
    root = amd_without_limits(tmp_path / "powercap")
    clock, counters = Clock(), Counters()
    sampler = PowerSampler(
        packages=lambda: find_packages(root),
        node_cpu=lambda: (counters.node_busy, counters.node_busy * 2),
        own_cpu=lambda: counters.own,
        gpus=no_gpus,
        factors=factors(clock, 40.0),
        totals_file=tmp_path / "totals.json",
        clock=clock,
        package_ceiling_w=400.0,
    )
    sampler.sample()
    busy_interval(root, clock, counters, {"intel-rapl:0": 5_000_000 + 1_900_000_000})  # 380 W
    sampler.sample()
    busy_interval(root, clock, counters, {"intel-rapl:0": 5_000_000 + 1_900_000_000 + 2_100_000_000})  # 420 W
    sampler.sample()
    state = sampler.state()
    assert state["energy_j"] == pytest.approx(1900.0)
    assert "more than the 400 W the CPU packages can draw" in state["problems"][0]


def test_a_garbage_counter_range_is_reported_and_sampling_goes_on(sampler_parts):
    root, clock, counters, make = sampler_parts
    (root / "intel-rapl:1" / "max_energy_range_uj").write_text("garbage\n")
    sampler = make()
    sampler.sample_safely()
    clock.now += 5
    counters.gpu_energy += 1000.0
    sampler.sample_safely()
    state = sampler.state()
    assert state["cpu"]["power_w"] is None
    assert "cannot read the counter range" in state["cpu"]["reason"]
    assert "intel-rapl:1/max_energy_range_uj" in state["cpu"]["reason"]
    assert state["energy_j"] == pytest.approx(1000.0)  # the GPU went on being counted


def test_totals_that_cannot_be_saved_are_reported_kept_and_saved_later(sampler_parts, tmp_path):
    _, clock, counters, make = sampler_parts
    sampler = make()
    sampler.sample()
    # Where the totals go cannot be written (as a full quota or an NFS error would make
    # it; the tests run as root, whom permissions do not stop).
    totals_dir = tmp_path / "totals"
    totals_dir.write_text("not a directory")
    clock.now += 5
    counters.gpu_energy += 1000.0
    sampler.sample_safely()
    state = sampler.state()
    assert state["energy_j"] == pytest.approx(1000.0)
    [problem] = state["problems"]
    assert problem.startswith(f"the totals cannot be saved to {totals_dir / 'default.json'}")
    assert "(since " in problem
    totals_dir.unlink()
    clock.now += 5
    counters.gpu_energy += 1000.0
    sampler.sample_safely()
    assert sampler.state()["problems"] == []
    assert make().state()["energy_j"] == pytest.approx(2000.0)


def test_a_failing_sample_is_reported_and_the_next_one_clears_it(sampler_parts):
    _, clock, _, make = sampler_parts
    sampler = make()
    sampler.sample_safely()
    broken = sampler._node_cpu
    sampler._node_cpu = lambda: (_ for _ in ()).throw(OSError("/proc/stat: Input/output error"))
    clock.now += 5
    sampler.sample_safely()
    [problem] = sampler.state()["problems"]
    assert problem.startswith("sampling failed: OSError: /proc/stat: Input/output error (since ")
    sampler._node_cpu = broken
    clock.now += 5
    sampler.sample_safely()
    assert sampler.state()["problems"] == []


def test_the_period_is_short_enough_that_no_counter_wraps_twice(tmp_path):
    root = amd_without_limits(tmp_path / "powercap")
    (root / "intel-rapl:0" / "max_energy_range_uj").write_text("4294967295\n")  # 32 bits of µJ
    packages = find_packages(root)
    # 4,295 J at 500 W: a wrap every 8.6 s; sampled at most every half of that.
    assert safe_period(packages, 500.0, 5.0) == pytest.approx(4.294967295)
    assert safe_period(packages, 100.0, 5.0) == 5.0
    assert safe_period(find_packages(intel_two_packages(tmp_path / "intel")), 500.0, 5.0) == 5.0


def test_a_slow_emission_factor_fetch_does_not_hold_up_sampling(sampler_parts):
    _, _, counters, make = sampler_parts
    sampler = make()
    fetching, release = threading.Event(), threading.Event()

    def hanging_fetch(url, timeout):
        fetching.set()
        release.wait(60)
        raise TimeoutError("timed out")

    sampler.factors.fetch = hanging_fetch
    samples = []
    sampler._own_cpu = lambda: samples.append(1) or counters.own
    stop = threading.Event()
    threads = [
        threading.Thread(target=sampler.factors.run_forever, args=(1800, stop)),
        threading.Thread(target=sampler.run_forever, args=(0.01, stop)),
    ]
    for thread in threads:
        thread.start()
    try:
        assert fetching.wait(10)
        deadline = time.monotonic() + 10
        while len(samples) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(samples) >= 5  # while the fetch hangs
    finally:
        stop.set()
        release.set()
        for thread in threads:
            thread.join(10)


def test_another_users_steady_load_is_not_billed_to_an_idle_server_as_idle_power(sampler_parts):
    """bob keeps the node half busy from before alice's server starts until it ends: the
    lowest power her sampler sees is 250 W, mostly his. It is not idle power."""
    root, clock, counters, make = sampler_parts

    def run(sampler):
        sampler._allocated_share = lambda: 0.5
        sampler.sample()
        for _ in range(3):
            clock.now += 5
            for directory in ("intel-rapl:0", "intel-rapl:1"):
                energy = int((root / directory / "energy_uj").read_text())
                set_energy(root, directory, energy + 625_000_000)  # 125 W each
            counters.interval(busy=160.0, own=0.0)  # half the node's CPU time, all bob's
            sampler.sample()
        return sampler.state()["cpu"]["power_w"]

    assert run(make(gpus=no_gpus)) == 0.0  # idle power unknown: only busy time is charged
    # With the site's idle figure (25 W a package), alice bears half of the 50 W.
    site = make(gpus=no_gpus)
    site.package_idle_w = 25.0
    assert run(site) == pytest.approx(25.0)

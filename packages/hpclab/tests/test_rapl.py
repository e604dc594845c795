import pytest

from hpclab.lab.power.rapl import (
    RaplUnavailable,
    energy_delta_uj,
    find_packages,
    packages_energy_uj,
    power_limit_w,
    read_energy,
)
from powercap_trees import MAX_RANGE, amd_without_limits, intel_two_packages, set_energy, zone


def test_each_package_counted_once_without_psys_dram_or_mmio_duplicates(tmp_path):
    packages = find_packages(intel_two_packages(tmp_path))
    assert [(package.name, package.energy_file.parent.name) for package in packages] == [
        ("package-0", "intel-rapl:0"),
        ("package-1", "intel-rapl:1"),
    ]
    assert power_limit_w(packages) == 250.0


def test_package_energy_over_an_interval_by_hand(tmp_path):
    root = intel_two_packages(tmp_path)
    packages = find_packages(root)
    before = read_energy(packages)
    set_energy(root, "intel-rapl:0", 1_000_000 + 300_000_000)  # 300 J
    set_energy(root, "intel-rapl:1", 2_000_000 + 200_000_000)  # 200 J
    set_energy(root, "intel-rapl:0:2", 999_999_999)  # dram: not added
    set_energy(root, "intel-rapl:a", 999_999_999)  # psys: not added
    assert packages_energy_uj(packages, before, read_energy(packages)) == 500_000_000


def test_a_counter_that_wrapped():
    assert energy_delta_uj(MAX_RANGE - 1_000, 4_000, MAX_RANGE) == 5_000
    assert energy_delta_uj(10, 25, MAX_RANGE) == 15


def test_amd_packages_have_no_limit(tmp_path):
    packages = find_packages(amd_without_limits(tmp_path))
    assert [package.name for package in packages] == ["package-0"]
    assert power_limit_w(packages) is None


def test_a_package_only_seen_through_mmio_is_still_counted(tmp_path):
    zone(tmp_path, "intel-rapl-mmio:0", "package-0", 7, 95_000_000)
    assert [package.energy_file.parent.name for package in find_packages(tmp_path)] == ["intel-rapl-mmio:0"]


def test_nodes_without_counters_say_why(tmp_path):
    with pytest.raises(RaplUnavailable, match="no RAPL counters"):
        find_packages(tmp_path / "absent")
    zone(tmp_path, "intel-rapl:0", "psys", 1)
    with pytest.raises(RaplUnavailable, match="no CPU package"):
        find_packages(tmp_path)


def test_an_unreadable_counter_says_which(tmp_path):
    root = intel_two_packages(tmp_path)
    packages = find_packages(root)
    (root / "intel-rapl:1" / "energy_uj").unlink()
    (root / "intel-rapl:1" / "energy_uj").mkdir()
    with pytest.raises(RaplUnavailable, match="intel-rapl:1/energy_uj"):
        read_energy(packages)

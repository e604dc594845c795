"""Fake /sys/class/powercap trees, shaped as real kernels expose them."""

from __future__ import annotations

from pathlib import Path

MAX_RANGE = 262143328850  # µJ, a common max_energy_range_uj


def zone(root: Path, directory: str, name: str, energy_uj: int, long_term_uw: int | None = None) -> Path:
    path = root / directory
    path.mkdir(parents=True)
    (path / "name").write_text(f"{name}\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{MAX_RANGE}\n")
    if long_term_uw is not None:
        (path / "constraint_0_name").write_text("long_term\n")
        (path / "constraint_0_power_limit_uw").write_text(f"{long_term_uw}\n")
        (path / "constraint_1_name").write_text("short_term\n")
        (path / "constraint_1_power_limit_uw").write_text(f"{long_term_uw * 12 // 10}\n")
    return path


def intel_two_packages(root: Path) -> Path:
    """Two 125 W packages with core and dram subzones, MMIO duplicates and psys."""
    zone(root, "intel-rapl:0", "package-0", 1_000_000, 125_000_000)
    zone(root, "intel-rapl:0:0", "core", 400_000)
    zone(root, "intel-rapl:0:2", "dram", 300_000)
    zone(root, "intel-rapl:1", "package-1", 2_000_000, 125_000_000)
    zone(root, "intel-rapl:a", "psys", 9_000_000, 300_000_000)
    zone(root, "intel-rapl-mmio:0", "package-0", 1_000_000, 125_000_000)
    return root


def amd_without_limits(root: Path) -> Path:
    zone(root, "intel-rapl:0", "package-0", 5_000_000)
    zone(root, "intel-rapl:0:0", "core", 1_000_000)
    return root


def set_energy(root: Path, directory: str, energy_uj: int) -> None:
    (root / directory / "energy_uj").write_text(f"{energy_uj}\n")

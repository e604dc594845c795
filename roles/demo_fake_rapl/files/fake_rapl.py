"""Fake RAPL counters: a powercap tree shaped as an Intel node's (two packages with core
and dram subzones, a psys zone, an MMIO copy of package 0), whose energy_uj advance every
second like packages drawing idle + load x (node CPU busy fraction) watts, wrapping at
max_energy_range_uj as real counters do."""

import os
import sys
import time
from pathlib import Path

MAX_RANGE = 262143328850
ZONES = {
    # directory: (name, long-term limit in µW or None, share of the package's energy)
    "intel-rapl:0": ("package-0", 125_000_000, 1.0),
    "intel-rapl:0:0": ("core", None, 0.6),
    "intel-rapl:0:1": ("dram", None, 0.1),
    "intel-rapl:1": ("package-1", 125_000_000, 1.0),
    "intel-rapl:1:0": ("core", None, 0.6),
    "intel-rapl:a": ("psys", 400_000_000, 2.5),
    "intel-rapl-mmio:0": ("package-0", 125_000_000, 1.0),
}


def make_tree(root: Path) -> None:
    for directory, (name, limit, _) in ZONES.items():
        zone = root / directory
        zone.mkdir(parents=True, exist_ok=True)
        (zone / "name").write_text(name + "\n")
        (zone / "max_energy_range_uj").write_text(f"{MAX_RANGE}\n")
        if not (zone / "energy_uj").exists():
            write_counter(zone / "energy_uj", 0)
        if limit:
            (zone / "constraint_0_name").write_text("long_term\n")
            (zone / "constraint_0_power_limit_uw").write_text(f"{limit}\n")
        for path in zone.iterdir():
            path.chmod(0o444)


def write_counter(path: Path, value: int) -> None:
    """Replaced whole, as a reader of sysfs never sees a half-written counter (a host
    stopped mid-write would otherwise leave an empty file)."""
    new = path.with_name(path.name + ".new")
    new.write_text(f"{value}\n")
    new.chmod(0o444)
    os.replace(new, path)


def read_counter(path: Path) -> int:
    try:
        return int(path.read_text())
    except ValueError:  # left empty by an older version of this script
        return 0


def busy_and_total() -> tuple[int, int]:
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[i] for i in (0, 1, 2, 5, 6, 7)), sum(fields[:8])


def main() -> None:
    root, idle_w, load_w = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    make_tree(root)
    before = busy_and_total()
    while True:
        time.sleep(1)
        after = busy_and_total()
        total = after[1] - before[1]
        busy = (after[0] - before[0]) / total if total else 0.0
        before = after
        package_uj = (idle_w + load_w * busy) * 1e6
        for directory, (_, _, share) in ZONES.items():
            energy = root / directory / "energy_uj"
            write_counter(energy, (read_counter(energy) + int(package_uj * share)) % MAX_RANGE)


if __name__ == "__main__":
    main()

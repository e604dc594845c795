"""CPU package energy from RAPL (powercap), every package counted once.

    /sys/class/powercap/intel-rapl:0          name "package-0"   (ids may be hex: intel-rapl:a)
    /sys/class/powercap/intel-rapl:0:0        name "core"        (subzones: never added)
    /sys/class/powercap/intel-rapl-mmio:0     name "package-0"   (the same package again)
    /sys/class/powercap/intel-rapl:1          name "psys"        (the platform, not a package)

energy_uj counts up to max_energy_range_uj and wraps. The packages' long-term power
limit (constraint named long_term) is their limit; AMD exposes none. The most a package
can draw is its highest limit (short_term included), or a site-set ceiling without one:
a reading above it is a counter that jumped (a zone re-created, a reset), not power.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")
_TOP_LEVEL_ZONE = re.compile(r"(intel-rapl|intel-rapl-mmio):[0-9a-fA-F]+")
_CONSTRAINT_NAME = re.compile(r"constraint_(\d+)_name")


class RaplUnavailable(Exception):
    """Why package energy cannot be read here (no powercap, no package, no permission)."""


@dataclass(frozen=True)
class Package:
    name: str
    energy_file: Path
    max_energy_uj: int
    long_term_limit_uw: int | None
    highest_limit_uw: int | None = None

    def most_power_w(self, ceiling_w: float) -> float:
        """The most this package can draw: its highest limit, else the site's ceiling."""
        return self.highest_limit_uw / 1e6 if self.highest_limit_uw else ceiling_w


def _read(path: Path) -> str:
    return path.read_text().strip()


def _limits(zone: Path) -> dict[str, int]:
    """The zone's power limits (µW) by constraint name; unreadable or zero ones left out."""
    limits = {}
    for constraint in sorted(zone.glob("constraint_*_name")):
        match = _CONSTRAINT_NAME.fullmatch(constraint.name)
        if match is None:
            continue
        try:
            value = int(_read(zone / f"constraint_{match.group(1)}_power_limit_uw"))
            name = _read(constraint)
        except (OSError, ValueError):
            continue
        if value > 0:
            limits[name] = value
    return limits


def _energy_range(zone: Path) -> int:
    path = zone / "max_energy_range_uj"
    try:
        value = int(_read(path))
    except (OSError, ValueError) as error:
        raise RaplUnavailable(f"cannot read the counter range {path}: {error}") from error
    if value <= 0:
        raise RaplUnavailable(f"the counter range {path} is {value}")
    return value


def find_packages(powercap: Path = POWERCAP) -> list[Package]:
    """The CPU packages, once each: the MSR zone where there is one, else the MMIO one."""
    if not powercap.is_dir():
        raise RaplUnavailable(f"no RAPL counters on this node ({powercap} does not exist)")
    by_name: dict[str, Package] = {}
    # intel-rapl sorts before intel-rapl-mmio: the first one seen wins.
    for zone in sorted(powercap.iterdir(), key=lambda path: (path.name.startswith("intel-rapl-mmio"), path.name)):
        if not _TOP_LEVEL_ZONE.fullmatch(zone.name):
            continue
        try:
            name = _read(zone / "name")
        except OSError:
            continue
        if not name.startswith("package") or name in by_name:
            continue
        limits = _limits(zone)
        by_name[name] = Package(
            name=name,
            energy_file=zone / "energy_uj",
            max_energy_uj=_energy_range(zone),
            long_term_limit_uw=limits.get("long_term"),
            highest_limit_uw=max(limits.values(), default=None),
        )
    if not by_name:
        raise RaplUnavailable("no CPU package among this node's RAPL zones")
    return [by_name[name] for name in sorted(by_name)]


def read_energy(packages: list[Package]) -> dict[str, int]:
    """Current energy counters (µJ) by package; a permission problem says so."""
    readings = {}
    for package in packages:
        try:
            readings[package.name] = int(_read(package.energy_file))
        except PermissionError as error:
            raise RaplUnavailable(
                f"RAPL energy counters are not readable by users on this node ({package.energy_file})"
            ) from error
        except (OSError, ValueError) as error:
            raise RaplUnavailable(f"cannot read {package.energy_file}: {error}") from error
    return readings


def energy_delta_uj(before: int, after: int, max_energy_uj: int) -> int:
    """Energy between two readings of one counter, across one wrap-around."""
    return after - before if after >= before else max_energy_uj - before + after


def packages_energy_uj(packages: list[Package], before: Mapping[str, int], after: Mapping[str, int]) -> int:
    return sum(
        energy_delta_uj(before[package.name], after[package.name], package.max_energy_uj)
        for package in packages
        if package.name in before and package.name in after
    )


def power_limit_w(packages: list[Package]) -> float | None:
    """The packages' long-term limits added up, or None when any package has none."""
    limits = [package.long_term_limit_uw for package in packages]
    if not limits or any(limit is None for limit in limits):
        return None
    return sum(limit for limit in limits if limit) / 1e6


def packages_most_power_w(packages: list[Package], ceiling_w: float) -> float:
    return sum(package.most_power_w(ceiling_w) for package in packages)


def safe_period(packages: list[Package], ceiling_w: float, wanted: float) -> float:
    """The sampling period, shortened so that no counter can wrap twice between two
    samples even at the most its package can draw (half its range, to be safe)."""
    shortest = min(
        (package.max_energy_uj / 1e6 / package.most_power_w(ceiling_w) / 2 for package in packages), default=wanted
    )
    return min(wanted, shortest)

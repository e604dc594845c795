"""The power sampler of a user's server: every few seconds, in its own thread, it reads
the CPU packages' energy, the node's and the server's CPU time, and the job's GPUs, and
adds the interval's energy and CO2 (at the emission factor in force then) to totals kept
in a file, so that they survive page reloads and server restarts.

The server's CPU power (docs/power.md, "Fair attribution"): the packages' power above
their idle power (the lowest seen while the node was idle, or the site's figure) times
the server's share of the CPU time the node spent busy in the interval, plus their idle
power times the server's allocated share of the node (its job's cores, or an
Interactive server's share of the login node's users). An interval whose package energy
is more than the packages can draw is a counter that jumped: it is dropped, never added
to the totals, and the state says so. The sampler never stops on an error: each one is
reported in the state (with when it began) and sampling goes on.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .emission_factor import EmissionFactorSource
from .gpus import GpuPower, GpusUnavailable
from .rapl import (
    Package,
    RaplUnavailable,
    packages_energy_uj,
    packages_most_power_w,
    power_limit_w,
    read_energy,
    safe_period,
)

JOULES_PER_KWH = 3.6e6
# How long a dropped reading stays in the state once readings are good again.
JUMP_SHOWN_S = 600.0
# A node busy less than this share of its CPU time in an interval shows its idle power.
IDLE_NODE_BUSY = 0.1


@dataclass
class Reading:
    at: float
    energy_uj: dict[str, int]
    node_busy_s: float
    node_total_s: float
    own_s: float
    gpu_energy_j: float | None


@dataclass
class Totals:
    energy_j: float = 0.0
    co2_g: float = 0.0
    since: float = field(default_factory=time.time)

    @classmethod
    def load(cls, path: Path) -> Totals:
        try:
            data = json.loads(path.read_text())
            totals = cls(float(data["energy_j"]), float(data["co2_g"]), float(data["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()
        # A NaN or infinite total would stay so for good (and is no JSON).
        finite = all(math.isfinite(value) and value >= 0 for value in (totals.energy_j, totals.co2_g))
        return totals if finite else cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"energy_j": self.energy_j, "co2_g": self.co2_g, "since": self.since}))
        os.replace(temporary, path)


class PowerSampler:
    def __init__(
        self,
        packages: Callable[[], list[Package]],
        node_cpu: Callable[[], tuple[float, float]],
        own_cpu: Callable[[], float],
        gpus: Callable[[], GpuPower | None],
        factors: EmissionFactorSource,
        totals_file: Path,
        clock: Callable[[], float] = time.monotonic,
        package_ceiling_w: float = 500.0,
        wall_clock: Callable[[], float] = time.time,
        allocated_share: Callable[[], float] = lambda: 1.0,
        package_idle_w: float = 0.0,
    ) -> None:
        self._find_packages = packages
        self._node_cpu = node_cpu
        self._own_cpu = own_cpu
        self._gpus = gpus
        self.factors = factors
        self.totals_file = totals_file
        self.totals = Totals.load(totals_file)
        self.clock = clock
        self._packages: list[Package] | None = None
        self._previous: Reading | None = None
        self._lock = threading.Lock()
        self.cpu_w: float | None = None
        self.cpu_limit_w: float | None = None
        self.cpu_reason = "measuring"
        self.gpu: GpuPower | None = None
        self.gpu_reason = ""
        self.package_ceiling_w = package_ceiling_w
        self._allocated_share = allocated_share
        # The packages' idle power: the lowest seen while the node was idle, else the site's
        # figure (0: unknown, and all power follows busy time).
        self._idle_seen_w: float | None = None
        self.package_idle_w = package_idle_w
        self.wall_clock = wall_clock
        # What went wrong, by kind, with when it began: kept until it goes right again.
        self._problems: dict[str, tuple[str, float]] = {}

    def _problem(self, kind: str, message: str) -> None:
        since = self._problems.get(kind, ("", self.wall_clock()))[1]
        self._problems[kind] = (message, since)

    def _solved(self, kind: str) -> None:
        self._problems.pop(kind, None)

    def _cpu_energy(self) -> tuple[dict[str, int], float, float, float] | None:
        try:
            if self._packages is None:
                self._packages = self._find_packages()
                self.cpu_limit_w = power_limit_w(self._packages)
            energy = read_energy(self._packages)
        except RaplUnavailable as error:
            self.cpu_reason = str(error)
            self.cpu_w = None
            return None
        busy, total = self._node_cpu()
        return energy, busy, total, self._own_cpu()

    def _gpu_now(self) -> GpuPower | None:
        try:
            gpu = self._gpus()
        except GpusUnavailable as error:
            self.gpu_reason = str(error)
            return None
        self.gpu_reason = ""
        return gpu

    def sample(self) -> None:
        now = self.clock()
        cpu = self._cpu_energy()
        gpu = self._gpu_now()
        with self._lock:
            previous = self._previous
            reading = Reading(
                now,
                cpu[0] if cpu else {},
                cpu[1] if cpu else 0.0,
                cpu[2] if cpu else 0.0,
                cpu[3] if cpu else 0.0,
                gpu.energy_j if gpu else None,
            )
            self._previous = reading
            self.gpu = gpu
            if previous is None or now <= previous.at:
                return
            seconds = now - previous.at
            joules = 0.0
            if cpu and previous.energy_uj and self._packages:
                package_j = packages_energy_uj(self._packages, previous.energy_uj, reading.energy_uj) / 1e6
                most_w = packages_most_power_w(self._packages, self.package_ceiling_w)
                if package_j / seconds > most_w:
                    self._problem(
                        "jump",
                        f"a reading of {package_j / seconds:.0f} W, more than the {most_w:.0f} W the CPU packages "
                        f"can draw, was dropped at {time.strftime('%H:%M:%S')} (an energy counter jumped)",
                    )
                else:
                    cpu_j = self._server_share_j(package_j, seconds, previous, reading)
                    self.cpu_w, self.cpu_reason = cpu_j / seconds, ""
                    joules += cpu_j
                    jump = self._problems.get("jump")
                    if jump is not None and self.wall_clock() - jump[1] > JUMP_SHOWN_S:
                        self._solved("jump")
            if gpu:
                if gpu.energy_j is not None and previous.gpu_energy_j is not None:
                    joules += max(0.0, gpu.energy_j - previous.gpu_energy_j)
                else:
                    joules += gpu.power_w * seconds
            self.totals.energy_j += joules
            self.totals.co2_g += joules / JOULES_PER_KWH * self.factors.current().grams_per_kwh
            try:
                self.totals.save(self.totals_file)
            except OSError as error:  # full quota, NFS: the totals go on in memory
                self._problem("save", f"the totals cannot be saved to {self.totals_file}: {error}")
            else:
                self._solved("save")

    def _server_share_j(self, package_j: float, seconds: float, previous: Reading, reading: Reading) -> float:
        """The server's part of the packages' energy over an interval (the module's rule)."""
        package_w = package_j / seconds
        node_busy = reading.node_busy_s - previous.node_busy_s
        node_total = reading.node_total_s - previous.node_total_s
        # Only an idle node shows the idle power: on a busy one, the lowest power seen
        # would carry other users' load, which allocation would then bill to everyone.
        if node_total > 0 and node_busy / node_total < IDLE_NODE_BUSY:
            self._idle_seen_w = package_w if self._idle_seen_w is None else min(self._idle_seen_w, package_w)
        site_idle_w = self.package_idle_w * len(self._packages or [])
        idle_w = min(package_w, self._idle_seen_w if self._idle_seen_w is not None else site_idle_w)
        busy_share = min(1.0, max(0.0, (reading.own_s - previous.own_s) / node_busy)) if node_busy > 0 else 0.0
        allocated = min(1.0, max(0.0, self._allocated_share()))
        return ((package_w - idle_w) * busy_share + idle_w * allocated) * seconds

    def state(self) -> dict[str, Any]:
        with self._lock:
            gpu = self.gpu
            return {
                "cpu": {"power_w": self.cpu_w, "limit_w": self.cpu_limit_w, "reason": self.cpu_reason},
                "gpu": (
                    {"count": gpu.count, "power_w": gpu.power_w, "limit_w": gpu.limit_w}
                    if gpu
                    else {"count": 0, "reason": self.gpu_reason}
                ),
                "energy_j": self.totals.energy_j,
                "co2_g": self.totals.co2_g,
                "since": self.totals.since,
                "factor": self.factors.state(),
                "problems": [
                    f"{message} (since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))})"
                    for message, since in self._problems.values()
                ],
            }

    def sample_safely(self) -> None:
        """One sample; an error is reported in the state, never the end of sampling."""
        try:
            self.sample()
        except Exception as error:
            with self._lock:
                self._problem("sampling", f"sampling failed: {type(error).__name__}: {error}")
            traceback.print_exc()
        else:
            with self._lock:
                self._solved("sampling")

    def period(self, wanted: float) -> float:
        """wanted, or less where a counter could otherwise wrap twice between samples."""
        return safe_period(self._packages or [], self.package_ceiling_w, wanted)

    def run_forever(self, period: float, stop: threading.Event) -> None:
        """The sampler's thread: a sample every period (shorter where a counter's range
        needs it). The emission factor is fetched in a thread of its own."""
        while not stop.is_set():
            self.sample_safely()
            stop.wait(self.period(period))

"""The power sampler's own cost on a node with many processes (make bench-power).

Starts a server-like process tree (a parent with a few children) among N other processes
(sleeping ones, as a shared login node has thousands), then times one sample's work with
each way of reading the server's CPU time, side by side:

- every process of the node (the sampler before issue 17, and still the way on a kernel
  without children lists),
- the kernel's children lists from the server's own process (no cgroup of its own),
- its cgroup's counter (a Slurm job's or an Interactive unit's).

Each figure is the median of many samples, as a share of one core at the 5 s period.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "packages/hpclab/src"), str(REPO / "packages/hpclab/tests")]

from hpclab.lab.power import cpu_time  # noqa: E402
from hpclab.lab.power.emission_factor import EmissionFactorSource  # noqa: E402
from hpclab.lab.power.rapl import find_packages  # noqa: E402
from hpclab.lab.power.sampler import PowerSampler  # noqa: E402
from powercap_trees import intel_two_packages  # noqa: E402

PERIOD_S = 5.0


def cpu_seconds(action: Callable[[], object], repeat: int) -> float:
    """Median CPU time (this process's, all threads) of one call."""
    samples = []
    for _ in range(repeat):
        started = time.process_time()
        action()
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def sampler(own_cpu: Callable[[], float], powercap: Path, totals: Path) -> PowerSampler:
    factors = EmissionFactorSource("http://unused", 50.0, "bench", 3600, time.monotonic, fetch=lambda u, t: b"")
    return PowerSampler(
        packages=lambda: find_packages(powercap),
        node_cpu=cpu_time.node_cpu_seconds,
        own_cpu=own_cpu,
        gpus=lambda: None,
        factors=factors,
        totals_file=totals,
    )


def node_processes() -> int:
    return sum(entry.isdigit() for entry in os.listdir("/proc"))


def own_cgroup_counter() -> Callable[[], float] | None:
    """This process's cgroup counter, standing in for a job's (any cgroup reads the same)."""
    paths = cpu_time.cgroup_of(os.getpid())
    if cpu_time.cgroup_cpu_seconds(paths) is None:
        return None
    return lambda: cpu_time.cgroup_cpu_seconds(paths) or 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()
    tree = "import subprocess, time\nkids = [subprocess.Popen(['sleep', '600']) for _ in range(5)]\ntime.sleep(600)"
    server = subprocess.Popen([sys.executable, "-c", tree], start_new_session=True)
    others: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            powercap = intel_two_packages(Path(scratch) / "powercap")
            ways: dict[str, Callable[[], float]] = {
                "every process (before)": lambda: cpu_time.process_tree_cpu_seconds_by_scan(server.pid),
                "children lists (now, no cgroup)": lambda: cpu_time.process_tree_cpu_seconds(server.pid),
            }
            counter = own_cgroup_counter()
            if counter is not None:
                ways["cgroup counter (now, job or unit)"] = counter
            print(f"one sample's CPU time, median of {args.repeat}; % of a core at one sample per {PERIOD_S:g} s")
            print(f"{'processes on the node':>22} | " + " | ".join(f"{name:>34}" for name in ways))
            for wanted in args.processes:
                while node_processes() < wanted:
                    others.append(subprocess.Popen(["sleep", "600"]))
                count = node_processes()
                figures = []
                for own_cpu in ways.values():
                    power = sampler(own_cpu, powercap, Path(scratch) / "totals.json")
                    power.sample()
                    seconds = cpu_seconds(power.sample, args.repeat)
                    figures.append(f"{seconds * 1000:8.2f} ms = {seconds / PERIOD_S * 100:6.3f} % of a core")
                print(f"{count:>22} | " + " | ".join(f"{figure:>34}" for figure in figures))
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        for process in others:
            process.kill()
        for process in [*others, server]:
            process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CPU time: the node's (from /proc/stat) and the server's own (its Slurm job's cgroup,
which counts processes that have exited, or else the server's process tree).

The server's share of the node's CPU time over an interval is the share of the package
energy attributed to it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from hpclab.common.interactive_units import unit_uid

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# /proc/stat cpu line: user nice system idle iowait irq softirq steal guest guest_nice
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


def node_cpu_seconds(proc: Path = Path("/proc")) -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole node since boot."""
    fields = [int(value) for value in (proc / "stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(fields[index] for index in _BUSY_FIELDS if index < len(fields))
    total = sum(fields[:8])
    return busy / CLOCK_TICKS, total / CLOCK_TICKS


def cgroup_of(pid: int, proc: Path = Path("/proc")) -> dict[str, str]:
    """{controller (or "" for cgroup v2): path} of a process."""
    paths = {}
    for line in (proc / str(pid) / "cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_cpu_seconds(paths: dict[str, str], root: Path = CGROUP_ROOT) -> float | None:
    """CPU seconds used in the cgroup (v1 cpuacct or v2 cpu.stat), or None."""
    if "cpuacct" in paths:
        usage = root / "cpuacct" / paths["cpuacct"].lstrip("/") / "cpuacct.usage"
        if usage.is_file():
            return int(usage.read_text()) / 1e9
    if "" in paths:
        stat = root / paths[""].lstrip("/") / "cpu.stat"
        if stat.is_file():
            for line in stat.read_text().splitlines():
                name, value = line.split()
                if name == "usage_usec":
                    return int(value) / 1e6
    return None


def _stat_seconds(stat: str) -> tuple[int, float]:
    """(parent pid, CPU seconds with waited-for children) from a /proc/<pid>/stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    # utime stime cutime cstime are fields 14 to 17 of stat (11 to 14 after the name)
    return int(fields[1]), sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def process_tree_cpu_seconds(root_pid: int, proc: Path = Path("/proc")) -> float:
    """CPU seconds of a process and its descendants, children they have waited for included.
    It follows the kernel's children lists, reading only the tree's own processes (a node
    may run thousands of others); a kernel without them makes it read every process."""
    if not (proc / str(root_pid) / "task" / str(root_pid) / "children").exists():
        return process_tree_cpu_seconds_by_scan(root_pid, proc)
    total, pending = 0.0, [root_pid]
    while pending:
        pid = pending.pop()
        try:
            total += _stat_seconds((proc / str(pid) / "stat").read_text())[1]
            for task in (proc / str(pid) / "task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError):  # it has just exited
            continue
    return total


def process_tree_cpu_seconds_by_scan(root_pid: int, proc: Path = Path("/proc")) -> float:
    """The same from every process of the node (what a kernel without children lists needs)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in _pids(proc):
        try:
            parent, seconds = _stat_seconds((proc / str(entry) / "stat").read_text())
        except (OSError, ValueError):
            continue
        children.setdefault(parent, []).append(entry)
        times[entry] = seconds
    total, pending = 0.0, [root_pid]
    while pending:
        pid = pending.pop()
        total += times.get(pid, 0.0)
        pending.extend(children.get(pid, []))
    return total


def _pids(proc: Path) -> Iterable[int]:
    for entry in proc.iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def _whole_job(path: str, job: str) -> str | None:
    """The path cut after its job_<job> component (every step of the job counts, srun's
    too, not only the batch step the server runs in), or None without that very one."""
    parts = path.split("/")
    if f"job_{job}" not in parts:
        return None
    return "/".join(parts[: parts.index(f"job_{job}") + 1])


def own_cgroup(paths: dict[str, str], environment: dict[str, str]) -> dict[str, str] | None:
    """The cgroup paths when they are the server's own: its Slurm job's whole cgroup
    (job_<SLURM_JOB_ID> exactly), or its Interactive unit's; not one it shares."""
    job = environment.get("SLURM_JOB_ID")
    if job:
        whole = {controller: _whole_job(path, job) for controller, path in paths.items()}
        found = {controller: path for controller, path in whole.items() if path is not None}
        return found or None
    # Only the hierarchies where it is the unit's own: with cgroup v1 in a container, the
    # cpuacct one may be the whole node's (container's).
    unit = {controller: path for controller, path in paths.items() if unit_uid(path.rsplit("/", 1)[-1]) is not None}
    return unit or None


_USER_SLICE = re.compile(r"user-(\d+)\.slice")


def login_node_share(unit_directory: Path, own_uid: int) -> float:
    """An Interactive server's share of the login node: an equal part for each user there
    (with Interactive servers, the units beside its own, or logged in, user-<uid>.slice
    in user.slice beside system.slice), split among the user's own servers."""
    servers: dict[int, int] = {}
    try:
        for entry in unit_directory.iterdir():
            uid = unit_uid(entry.name)
            if uid is not None:
                servers[uid] = servers.get(uid, 0) + 1
    except OSError:
        return 1.0
    users = set(servers) | {own_uid}
    try:
        for entry in (unit_directory.parent / "user.slice").iterdir():
            match = _USER_SLICE.fullmatch(entry.name)
            if match and int(match.group(1)) != 0:
                users.add(int(match.group(1)))
    except OSError:
        pass
    return 1.0 / len(users) / max(1, servers.get(own_uid, 1))


def allocated_share(environment: dict[str, str], node_cores: int, interactive_unit_dir: Path | None) -> float:
    """The server's share of the node, by which it bears the packages' idle power: its Slurm
    job's cores on this node over the node's, or an Interactive server's share of the
    login node's users (login_node_share)."""
    cores = environment.get("SLURM_CPUS_ON_NODE", "")
    if environment.get("SLURM_JOB_ID") and cores.isdigit() and node_cores > 0:
        return min(1.0, int(cores) / node_cores)
    if interactive_unit_dir is not None:
        return login_node_share(interactive_unit_dir, os.getuid())
    return 1.0


def own_cpu_reader(cgroup: dict[str, str] | None, server_pid: int) -> Callable[[], float]:
    """The server's CPU seconds: its cgroup's (the whole job, or the Interactive unit)
    where readable, else its process tree's."""
    if cgroup is not None and cgroup_cpu_seconds(cgroup) is not None:
        return lambda: cgroup_cpu_seconds(cgroup) or 0.0
    return lambda: process_tree_cpu_seconds(server_pid)

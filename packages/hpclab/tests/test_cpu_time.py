import os

import pytest

from hpclab.lab.power import cpu_time
from hpclab.lab.power.cpu_time import (
    CLOCK_TICKS,
    allocated_share,
    cgroup_cpu_seconds,
    cgroup_of,
    node_cpu_seconds,
    own_cgroup,
    process_tree_cpu_seconds,
)


def stat_line(pid: int, name: str, parent: int, utime: int, stime: int, cutime: int = 0, cstime: int = 0) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    return f"{pid} ({name}) S {parent} 1 1 0 -1 0 0 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0 0 0 0\n"


def fake_proc(root, processes, children_lists=False):
    """A /proc of these processes; with children_lists, the kernel's task/<tid>/children."""
    for pid, (name, parent, *times) in processes.items():
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "stat").write_text(stat_line(pid, name, parent, *times))
    if children_lists:
        for pid in processes:
            task = root / str(pid) / "task" / str(pid)
            task.mkdir(parents=True)
            kids = [child for child, (_, parent, *_) in processes.items() if parent == pid]
            task.joinpath("children").write_text("".join(f"{child} " for child in kids))
    (root / "self").mkdir(exist_ok=True)
    return root


def test_node_cpu_time_by_hand(tmp_path):
    (tmp_path / "stat").write_text("cpu  100 20 30 800 10 5 5 0 0 0\ncpu0 50 10 15 400 5 2 3 0 0 0\n")
    busy, total = node_cpu_seconds(tmp_path)
    assert busy == 160 / CLOCK_TICKS  # user nice system irq softirq steal
    assert total == 970 / CLOCK_TICKS


PROCESSES = {
    10: ("jupyterhub-sing", 1, 100, 50, 30, 20),  # 30+20: kernels that have exited
    11: ("python", 10, 200, 0),
    12: ("tensorboard (x)", 11, 40, 10),  # a name with a space and a parenthesis
    20: ("bob's job", 1, 999, 999),
}
SERVER_TREE_S = (100 + 50 + 30 + 20 + 200 + 40 + 10) / CLOCK_TICKS


@pytest.mark.parametrize("children_lists", [True, False], ids=["children lists", "every process"])
def test_the_servers_process_tree_with_exited_children(tmp_path, children_lists):
    proc = fake_proc(tmp_path, PROCESSES, children_lists)
    assert process_tree_cpu_seconds(10, proc) == SERVER_TREE_S


def test_with_children_lists_the_rest_of_the_node_is_not_scanned(tmp_path, monkeypatch):
    proc = fake_proc(tmp_path, PROCESSES, children_lists=True)

    def scan(*args):
        raise AssertionError("every process of the node was read")

    monkeypatch.setattr(cpu_time, "process_tree_cpu_seconds_by_scan", scan)
    assert process_tree_cpu_seconds(10, proc) == SERVER_TREE_S


def test_cgroup_v1_and_v2_usage(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "cgroup").write_text(
        "5:cpu,cpuacct:/slurm/uid_2001/job_42/step_batch\n4:memory:/slurm/uid_2001/job_42\n0::/\n"
    )
    paths = cgroup_of(1, tmp_path)
    assert paths["cpuacct"] == "/slurm/uid_2001/job_42/step_batch"
    # The whole job: its batch step, where the server runs, and every srun step beside it.
    whole_job = own_cgroup(paths, {"SLURM_JOB_ID": "42"})
    assert whole_job == {
        "cpu": "/slurm/uid_2001/job_42",
        "cpuacct": "/slurm/uid_2001/job_42",
        "memory": "/slurm/uid_2001/job_42",
    }
    assert own_cgroup(paths, {"SLURM_JOB_ID": "43"}) is None
    assert own_cgroup(paths, {"SLURM_JOB_ID": "4"}) is None  # job_42 is not job 4's
    assert own_cgroup({"": "/user.slice/user-2001.slice/session-3.scope"}, {}) is None
    usage = tmp_path / "fs" / "cpuacct" / "slurm/uid_2001/job_42"
    (usage / "step_0").mkdir(parents=True)
    (usage / "cpuacct.usage").write_text("2500000000\n")
    assert cgroup_cpu_seconds(whole_job, tmp_path / "fs") == 2.5
    v2 = tmp_path / "fs" / "system.slice" / "hpclab-interactive-alice-x.service"
    v2.mkdir(parents=True)
    (v2 / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")
    assert cgroup_cpu_seconds({"": "/system.slice/hpclab-interactive-alice-x.service"}, tmp_path / "fs") == 1.5


def test_this_process_reads_itself():
    assert process_tree_cpu_seconds(os.getpid()) >= 0


def test_job_12_is_not_job_123():
    """The server of job 12 must not count job 123's CPU time as its own (the old match
    was a substring)."""
    paths = {"": "/system.slice/slurmstepd.scope/job_123/step_batch/user/task_0"}
    assert own_cgroup(paths, {"SLURM_JOB_ID": "12"}) is None
    assert own_cgroup(paths, {"SLURM_JOB_ID": "123"}) == {"": "/system.slice/slurmstepd.scope/job_123"}


def test_an_interactive_unit_is_the_servers_own_cgroup():
    unit = {"": "/system.slice/hpclab-interactive-2001-lab.service"}
    assert own_cgroup(unit, {}) == unit
    assert own_cgroup({"": "/system.slice/hpclab-interactive-x.service"}, {}) is None
    # cgroup v1 in a container: systemd runs the unit in its own hierarchy only, and the
    # cpuacct cgroup is the whole container's, which is not the server's CPU time.
    v1 = {
        "cpuacct": "/docker/31c48d27",
        "name=systemd": "/docker/31c48d27/system.slice/hpclab-interactive-2001.service",
    }
    assert own_cgroup(v1, {}) == {"name=systemd": v1["name=systemd"]}


def test_the_idle_power_is_shared_by_allocation(tmp_path):
    # A job with 8 of the node's 64 cores bears an eighth of the packages' idle power.
    assert allocated_share({"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8"}, 64, None) == 0.125
    # An Interactive server: an equal part for each user of the login node (Interactive
    # servers, or logged in), split among the user's own servers.
    units = tmp_path / "system.slice"
    me = os.getuid()
    for name in (
        f"hpclab-interactive-{me}.service",
        f"hpclab-interactive-{me}-b.service",
        "hpclab-interactive-99002.service",
        "hpclab-interactive-99003-x.service",
        "ssh.service",
    ):
        (units / name).mkdir(parents=True)
    assert allocated_share({}, 64, units) == 1 / 3 / 2
    for name in ("user-0.slice", "user-99003.slice", "user-99004.slice"):  # root is not a user
        (tmp_path / "user.slice" / name).mkdir(parents=True)
    assert allocated_share({}, 64, units) == 1 / 4 / 2
    assert allocated_share({}, 64, tmp_path / "gone") == 1.0

"""The hub against Slurm at scale, on a running demo cluster (make bench).

Runs the same measurements with two profiles of the same hub, side by side:

- hpclab: the deployed configuration (HpclabSpawner, one shared squeue poller);
- stock: batchspawner's own SlurmSpawner with its default script and per-server squeue,
  for comparison only (a runtime systemd drop-in points the hub at a copy of its
  configuration; removed at the end).

and prints, for each: spawn-to-ready median and 90th percentile over --spawns SLURM
spawns; squeue calls per minute (slurmctld's own RPC counts, sdiag) with 0, 10 and 50
running servers; the hub's CPU and memory with 50 servers; the hub's CPU for one check of
the idle culler over the 50 servers (hpclab only: stock JupyterHub has no culler);
failures when 20 users spawn at the same moment. The hpclab profile also gives spawn-to-ready per kind, with and
without the sandbox, and the spawn form's render time with a cold and a warm policy
cache with the Slurm calls it costs (stock batchspawner has no form to compare with).
Bench users bench01..bench20 are created on every node for the run, with an
association in the accounting database, and removed after it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "molecule"))

from hubclient import HubSession

REPO = Path(__file__).resolve().parents[2]
NODES = ("hub", "slurmctld", "cn1", "cn2")
SLURM = {"kind": "slurm", "partition": "cpu", "time": "00:30:00", "cpus": "1", "memory": "512M"}
KIND_OPTIONS = {
    "interactive": {"kind": "interactive"},
    "interactive-sandbox": {"kind": "interactive", "sandbox": True},
    "slurm": SLURM,
    "slurm-sandbox": {**SLURM, "sandbox": True},
}
BENCH_USERS = [f"bench{number:02d}" for number in range(1, 21)]
BENCH_UID = 3100
PROJECT_GROUP = "demoproj"
WINDOW_S = 60
BENCH_ACCOUNT = "hpclab-bench"
# The RPCs a reading of the cluster's policy makes: sinfo, scontrol show config /
# partition / reservation (slurmctld), and sacctmgr show association / qos / user (slurmdbd).
POLICY_RPCS = (
    "REQUEST_PARTITION_INFO", "REQUEST_NODE_INFO", "REQUEST_RESERVATION_INFO", "REQUEST_BUILD_INFO",
    "DBD_GET_ASSOCS", "DBD_GET_QOS", "DBD_GET_USERS",
)  # fmt: skip
FORM_ROUNDS = 5
CULLER_ROUNDS = 10
# One check of jupyterhub-idle-culler (its own function, hpclab's rule), rounds times.
CULLER_CHECK = """
import asyncio, logging, resource, sys, time
from jupyterhub_idle_culler import cull_idle
from hpclab.hub.idle_culling import cull_idle_server
url, rounds, token = sys.argv[1], int(sys.argv[2]), sys.stdin.read().strip()
started = time.monotonic()
for _ in range(rounds):
    asyncio.run(cull_idle(url, token, 300, logging.getLogger("bench"), cull_arbiter=cull_idle_server))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(usage.ru_utime + usage.ru_stime, time.monotonic() - started)
"""
BENCH_CONFIG_DIR = "/run/hpclab-bench"
DROP_IN = "/run/systemd/system/jupyterhub.service.d/hpclab-bench.conf"
# batchspawner's SlurmSpawner as its documentation sets it up; sudo only where the hub's
# sudoers allows it (sbatch and scancel as the user), squeue as the hub's own account.
# Merged into the copy of jupyterhub_config.json, which traitlets reads after the .py.
STOCK_SETTINGS = {
    # JupyterHub's own PAM login: hpclab's authenticator routes /api/batchspawner to a
    # handler that accepts reports of hpclab's servers only.
    "JupyterHub": {"spawner_class": "batchspawner.SlurmSpawner", "authenticator_class": "pam"},
    "SlurmSpawner": {
        "exec_prefix": "",
        "batch_submit_cmd": "sudo -n -E -u {username} /usr/bin/sbatch --parsable",
        "batch_cancel_cmd": "sudo -n -u {username} /usr/bin/scancel {job_id}",
        "req_partition": "cpu",
        "req_runtime": "00:30:00",
        "req_memory": "512M",
        # Run the server in the batch shell, where the prologue put the environment on PATH.
        "req_srun": "",
        "cmd": ["jupyterhub-singleuser"],
    },
}


def docker_exec(cluster: str, node: str, *command: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["docker", "exec", "-i", f"{cluster}-{node}", *command],
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
    ).stdout


class Bench:
    def __init__(self, cluster: str, port: int, ca_file: str) -> None:
        self.cluster = cluster
        self.port = port
        self.ca_file = ca_file
        self.passwords: dict[str, str] = {}

    def run(self, node: str, *command: str, stdin: str | None = None) -> str:
        return docker_exec(self.cluster, node, *command, stdin=stdin)

    def session(self, user: str) -> HubSession:
        hub = HubSession(f"https://127.0.0.1:{self.port}", user, self.ca_file)
        password = self.passwords.get(user) or self.demo_password(user)
        assert hub.login(password).status_code == 302, f"{user} cannot log in"
        return hub

    def demo_password(self, user: str) -> str:
        return (REPO / ".state" / self.cluster / "credentials" / user).read_text().split()[0]

    # ----- bench users ----------------------------------------------------------------

    @contextmanager
    def bench_users(self) -> Iterator[list[HubSession]]:
        for offset, user in enumerate(BENCH_USERS):
            uid = BENCH_UID + offset
            for node in NODES:
                home = ["--create-home"] if node == "hub" else ["--no-create-home"]
                self.run(
                    node,
                    "sh",
                    "-c",
                    f"id {user} >/dev/null 2>&1 || useradd --uid {uid} --user-group "
                    f"--groups {PROJECT_GROUP} --shell /bin/bash {' '.join(home)} {user}",
                )
            self.passwords[user] = secrets.token_urlsafe(12)
            self.run("hub", "chpasswd", stdin=f"{user}:{self.passwords[user]}\n")
            for root in ("/cluster/work", "/cluster/scratch"):
                self.run("hub", "install", "-d", "-o", user, "-g", user, "-m", "0700", f"{root}/{user}")
        # With accounting enforced, a user needs an association to submit anything.
        names = ",".join(BENCH_USERS)
        self.run("slurmctld", "sh", "-c", f"sacctmgr -i add account {BENCH_ACCOUNT} >/dev/null || true")
        self.run("slurmctld", "sh", "-c", f"sacctmgr -i add user {names} account={BENCH_ACCOUNT} >/dev/null || true")
        try:
            yield [self.session(user) for user in BENCH_USERS]
        finally:
            self.run("slurmctld", "sh", "-c", f"sacctmgr -i delete user name={names} >/dev/null || true")
            self.run("slurmctld", "sh", "-c", f"sacctmgr -i delete account {BENCH_ACCOUNT} >/dev/null || true")
            for user in BENCH_USERS:
                self.run("hub", "sh", "-c", f"rm -rf /cluster/work/{user} /cluster/scratch/{user}")
                for node in NODES:
                    remove = "--remove" if node == "hub" else ""
                    self.run(node, "sh", "-c", f"userdel {remove} {user} 2>/dev/null || true")

    # ----- the hub's profile ----------------------------------------------------------

    def use_profile(self, profile: str) -> None:
        if profile == "stock":
            self.run("hub", "install", "-d", "-m", "0755", BENCH_CONFIG_DIR)
            for name in ("jupyterhub_config.py", "jupyterhub_config.json"):
                # --preserve: the hub's service account reads them through its group.
                self.run("hub", "cp", "--preserve=mode,ownership", f"/etc/jupyterhub/{name}", BENCH_CONFIG_DIR)
            settings = json.loads(self.run("hub", "cat", f"{BENCH_CONFIG_DIR}/jupyterhub_config.json"))
            for section, values in STOCK_SETTINGS.items():
                settings.setdefault(section, {}).update(values)
            # The users' Jupyter environment, where batchspawner-singleuser is.
            environment_bin = settings["HpclabSpawner"]["jupyter_env_bin"]
            settings["SlurmSpawner"]["req_prologue"] = f"export PATH={environment_bin}:$PATH"
            # Stock jobs carry their token and call the hub's API in clear, on its port.
            hub_port = settings["JupyterHub"]["hub_bind_url"].rsplit(":", 1)[1]
            settings["JupyterHub"]["hub_bind_url"] = f"http://0.0.0.0:{hub_port}"
            settings["JupyterHub"]["hub_connect_url"] = f"http://hub:{hub_port}"
            self.run("hub", "sh", "-c", f"cat > {BENCH_CONFIG_DIR}/jupyterhub_config.json", stdin=json.dumps(settings))
            execstart = self.run("hub", "systemctl", "show", "--property=ExecStart", "--value", "jupyterhub")
            program = re.search(r"path=(\S+)", execstart).group(1)
            drop_in = f"[Service]\nExecStart=\nExecStart={program} --config={BENCH_CONFIG_DIR}/jupyterhub_config.py\n"
            self.run("hub", "sh", "-c", f"mkdir -p {Path(DROP_IN).parent} && cat > {DROP_IN}", stdin=drop_in)
        else:
            self.run("hub", "rm", "-rf", DROP_IN, BENCH_CONFIG_DIR)
        restarted_at = self.run("hub", "date", "+%Y-%m-%d %H:%M:%S").strip()
        self.run("hub", "systemctl", "daemon-reload")
        self.run("hub", "systemctl", "restart", "jupyterhub")
        expected = "batchspawner.batchspawner.SlurmSpawner" if profile == "stock" else "hpclab.hub.spawner."
        deadline = time.monotonic() + 120
        while True:
            try:
                self.session("alice")
                started = self.run("hub", "journalctl", "-u", "jupyterhub", f"--since={restarted_at}", "-o", "cat")
                assert f"Using Spawner: {expected}" in started, f"the hub does not use {expected}"
                return
            except Exception:  # the hub is starting
                assert time.monotonic() < deadline, "the hub did not come back"
                time.sleep(1)

    # ----- measurements ---------------------------------------------------------------

    def squeue_calls_per_minute(self) -> tuple[int, float, float]:
        """slurmctld's job-information RPCs during WINDOW_S, and the hub's CPU (% of one
        core) and resident memory (MiB) over the same window."""
        pid = self.run("hub", "systemctl", "show", "--property=MainPID", "--value", "jupyterhub").strip()
        self.run("slurmctld", "sdiag", "--reset")
        cpu_before = self.cpu_seconds(pid)
        time.sleep(WINDOW_S)
        cpu = (self.cpu_seconds(pid) - cpu_before) / WINDOW_S * 100
        report = self.run("slurmctld", "sdiag")
        counts = re.findall(r"REQUEST_JOB_INFO(?:_SINGLE)?\s+\(\s*\d+\)\s+count:(\d+)", report)
        calls = sum(int(count) for count in counts)
        rss = int(self.run("hub", "ps", "-o", "rss=", "-p", pid)) / 1024
        return round(calls * 60 / WINDOW_S), cpu, rss

    def culler_check_cost(self, rounds: int = CULLER_ROUNDS) -> tuple[float, float, float]:
        """The hub's CPU seconds, the checking process's and the wall time per check of
        the idle culler, with its own token and rule, over every server running now."""
        pid = self.run("hub", "systemctl", "show", "--property=MainPID", "--value", "jupyterhub").strip()
        culler = self.run("hub", "pgrep", "-f", "-o", "jupyterhub_idle_culler").strip()
        environment = self.run("hub", "cat", f"/proc/{culler}/environ").split("\0")
        token = next(item.split("=", 1)[1] for item in environment if item.startswith("JUPYTERHUB_API_TOKEN="))
        url = next(item.split("=", 1)[1] for item in environment if item.startswith("JUPYTERHUB_API_URL="))
        before = self.cpu_seconds(pid)
        answer = self.run("hub", "/opt/jupyterhub/venv/bin/python3", "-c", CULLER_CHECK, url, str(rounds), stdin=token)
        hub_cpu = (self.cpu_seconds(pid) - before) / rounds
        own_cpu, wall = (float(value) / rounds for value in answer.split())
        return hub_cpu, own_cpu, wall

    def reset_policy_calls(self) -> None:
        self.run("slurmctld", "sdiag", "--reset")
        self.run("slurmctld", "sacctmgr", "-i", "clear", "stats")

    def policy_calls(self) -> int:
        """RPCs of policy readings since the reset, as slurmctld and slurmdbd count them."""
        report = self.run("slurmctld", "sdiag") + self.run("slurmctld", "sacctmgr", "show", "stats")
        return sum(
            int(count) for name in POLICY_RPCS for count in re.findall(rf"{name}\s+\(\s*\d+\)\s+count:(\d+)", report)
        )

    def cpu_seconds(self, pid: str) -> float:
        fields = self.run("hub", "cat", f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
        ticks = int(self.run("hub", "getconf", "CLK_TCK"))
        return (int(fields[11]) + int(fields[12])) / ticks


def spawn_to_ready(hub: HubSession, name: str, options: dict[str, object], timeout: float = 600) -> float:
    started = time.monotonic()
    response = hub.start(name, options)
    assert response.status_code in (201, 202), response.text
    while not (state := hub.servers().get(name, {})).get("ready"):
        assert state.get("pending") or not state, f"{hub.user}/{name} stopped while starting"
        assert time.monotonic() - started < timeout, f"{hub.user}/{name} not ready after {timeout} s"
        time.sleep(0.2)
    assert hub.http.get(hub.url(f"/user/{hub.user}/{name}/lab"), timeout=120).status_code == 200
    return time.monotonic() - started


def stop_all(hub: HubSession) -> None:
    """Stop every server and forget the named ones (they count against the user's limit)."""
    for name in list(hub.servers()):
        hub.stop(name)
    deadline = time.monotonic() + 180
    while hub.servers() and time.monotonic() < deadline:
        time.sleep(0.5)
    hub.remove_stopped_servers()


def in_parallel(jobs: list[Callable[[], float]], workers: int) -> tuple[list[float], list[str]]:
    """Run the spawns, workers at a time; their times and their failures."""
    times, failures = [], []
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for future in concurrent.futures.as_completed([pool.submit(job) for job in jobs]):
            try:
                times.append(future.result())
            except Exception as error:  # a failed spawn is a figure here
                failures.append(str(error)[:200])
    return times, failures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_profile(bench: Bench, profile: str, users: list[HubSession], spawns: int) -> dict[str, str]:
    bench.use_profile(profile)
    for hub in users:
        hub.http.cookies.clear()
    users = [bench.session(hub.user) for hub in users]
    figures: dict[str, str] = {}
    options = SLURM if profile == "hpclab" else {}

    times = [spawn_to_ready(users[0], f"seq{number}", options) for number in range(spawns)]
    stop_all(users[0])
    figures["spawn to ready, median (s)"] = f"{statistics.median(times):.2f}"
    figures["spawn to ready, 90th percentile (s)"] = f"{percentile(times, 0.9):.2f}"

    calls, _, idle_rss = bench.squeue_calls_per_minute()
    figures["squeue calls per minute, 0 servers"] = str(calls)
    # 10 servers, one per user; then 40 more, up to 3 per user, 50 in all.
    placements = [(hub, "s0") for hub in users[:10]]
    _, failures = in_parallel([lambda h=h, n=n: spawn_to_ready(h, n, options) for h, n in placements], 10)
    figures["squeue calls per minute, 10 servers"] = str(bench.squeue_calls_per_minute()[0])
    more = [(hub, "s0") for hub in users[10:]] + [(hub, f"s{round_}") for round_ in (1, 2) for hub in users][:30]
    _, failures_50 = in_parallel([lambda h=h, n=n: spawn_to_ready(h, n, options) for h, n in more], 10)
    running = sum(len(hub.servers()) for hub in users)
    calls, cpu, rss = bench.squeue_calls_per_minute()
    figures[f"squeue calls per minute, {running} servers"] = str(calls)
    figures[f"hub CPU with {running} servers (% of a core)"] = f"{cpu:.1f}"
    figures[f"hub memory, idle / {running} servers (MiB)"] = f"{idle_rss:.0f} / {rss:.0f}"
    figures["failed spawns while filling to 50"] = str(len(failures) + len(failures_50))
    if profile == "hpclab":
        hub_cpu, own_cpu, wall = bench.culler_check_cost()
        figures[f"idle culler's check, {running} servers: hub CPU (ms)"] = f"{hub_cpu * 1000:.0f}"
        figures[f"idle culler's check, {running} servers: own CPU/wall"] = f"{own_cpu * 1000:.0f}/{wall * 1000:.0f}"
    in_parallel([lambda h=h: stop_all(h) or 0.0 for h in users], 10)

    barrier = threading.Barrier(len(users))

    def together(hub: HubSession) -> float:
        barrier.wait()
        return spawn_to_ready(hub, "burst", options)

    burst_times, burst_failures = in_parallel([lambda h=h: together(h) for h in users], len(users))
    figures["20 simultaneous spawns: failures"] = str(len(burst_failures))
    if burst_times:
        figures["20 simultaneous spawns: slowest ready (s)"] = f"{max(burst_times):.1f}"
    for failure in burst_failures[:3]:
        print(f"  [{profile}] burst failure: {failure}")
    in_parallel([lambda h=h: stop_all(h) or 0.0 for h in users], 10)
    return figures


def render_form(hub: HubSession) -> float:
    started = time.monotonic()
    response = hub.http.get(hub.url(f"/hub/spawn/{hub.user}/formbench"), timeout=60)
    assert response.status_code == 200, response.text[:300]
    assert 'id="hpclab-policy"' in response.text
    return time.monotonic() - started


def measure_form(bench: Bench, users: list[HubSession]) -> None:
    """The spawn form through the hub's HTTPS port: the first render after a hub restart
    (the policy read from Slurm), then FORM_ROUNDS renders for each user (from the cache)."""
    bench.use_profile("hpclab")
    users = [bench.session(hub.user) for hub in [bench.session("alice"), *users]]
    bench.reset_policy_calls()
    cold = render_form(users[0])
    cold_calls = bench.policy_calls()
    bench.reset_policy_calls()
    warm = [render_form(hub) for _ in range(FORM_ROUNDS) for hub in users]
    warm_calls = bench.policy_calls()
    print(f"\nhpclab: the spawn form ({len(users)} users, {len(warm)} warm renders)")
    print(f"  cold render (policy read from Slurm)   {cold * 1000:7.1f} ms, {cold_calls} Slurm RPCs")
    print(f"  warm render, median / 90th percentile  {statistics.median(warm) * 1000:7.1f} / "
          f"{percentile(warm, 0.9) * 1000:.1f} ms")  # fmt: skip
    print(f"  Slurm RPCs per warm render             {warm_calls / len(warm):7.2f} ({warm_calls} in all)")


def kinds_with_sandbox(bench: Bench, spawns: int) -> None:
    alice = bench.session("alice")
    stop_all(alice)
    print(f"\nhpclab: spawn to ready JupyterLab by kind, {spawns} spawns each (seconds)")
    for kind, options in KIND_OPTIONS.items():
        times = []
        for number in range(spawns):
            times.append(spawn_to_ready(alice, f"kind-{kind}-{number}", options))
            stop_all(alice)
        print(f"  {kind:20s} median {statistics.median(times):5.2f}  min {min(times):5.2f}  max {max(times):5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", default="hpclab-demo")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--spawns", type=int, default=10)
    parser.add_argument("--kind-spawns", type=int, default=5)
    parser.add_argument("--profiles", default="hpclab,stock")
    parser.add_argument("--form", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile(suffix=".crt") as ca:
        ca.write(docker_exec(args.cluster, "hub", "cat", "/etc/jupyterhub/tls/hub.crt").encode())
        ca.flush()
        bench = Bench(args.cluster, args.port, ca.name)
        results: dict[str, dict[str, str]] = {}
        try:
            with bench.bench_users() as users:
                for hub in users:
                    stop_all(hub)
                for profile in [name for name in args.profiles.split(",") if name]:
                    results[profile] = measure_profile(bench, profile, users, args.spawns)
                    for row, figure in results[profile].items():
                        print(f"  [{profile}] {row}: {figure}", flush=True)

        finally:
            bench.use_profile("hpclab")
        profiles = list(results)
        rows = list(dict.fromkeys(row for figures in results.values() for row in figures))
        print("\n" + f"{'':48s}" + "".join(f"{profile:>12s}" for profile in profiles))
        for row in rows:
            print(f"{row:48s}" + "".join(f"{results[profile].get(row, '-'):>12s}" for profile in profiles))
        if args.form:
            with bench.bench_users() as form_users:
                measure_form(bench, form_users)
        if args.kind_spawns:
            kinds_with_sandbox(bench, args.kind_spawns)


if __name__ == "__main__":
    main()

"""Spawn latency and hub memory, measured on a running demo cluster (make bench).

Prints, for each kind of server, with and without the sandbox, the time from the spawn
request to a ready JupyterLab (the hub's REST API says ready and /lab answers through
the proxy), and the hub's resident memory with several servers running.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "molecule"))

from hubclient import HubSession

REPO = Path(__file__).resolve().parents[2]
SLURM = {"kind": "slurm", "partition": "cpu", "time": "00:20:00", "cpus": "1", "memory": "1G"}
KIND_OPTIONS = {
    "interactive": {"kind": "interactive"},
    "interactive-sandbox": {"kind": "interactive", "sandbox": True},
    "slurm": SLURM,
    "slurm-sandbox": {**SLURM, "sandbox": True},
}


def docker_exec(cluster: str, node: str, *command: str) -> str:
    return subprocess.run(
        ["docker", "exec", f"{cluster}-{node}", *command], check=True, capture_output=True, text=True
    ).stdout


def session(cluster: str, port: int, ca_file: str, user: str) -> HubSession:
    hub = HubSession(f"https://127.0.0.1:{port}", user, ca_file)
    password = (REPO / ".state" / cluster / "credentials" / user).read_text().split()[0]
    assert hub.login(password).status_code == 302
    return hub


def spawn_to_ready(hub: HubSession, name: str, options: dict[str, object]) -> float:
    started = time.monotonic()
    response = hub.start(name, options)
    assert response.status_code in (201, 202), response.text
    while not hub.servers().get(name, {}).get("ready"):
        time.sleep(0.1)
    assert hub.http.get(hub.url(f"/user/{hub.user}/{name}/lab"), timeout=60).status_code == 200
    return time.monotonic() - started


def stop_all(hub: HubSession) -> None:
    """Stop every server and forget the named ones (they count against the user's limit)."""
    for name in list(hub.servers()):
        hub.stop(name)
    deadline = time.monotonic() + 120
    while hub.servers() and time.monotonic() < deadline:
        time.sleep(0.5)
    home = hub.http.get(hub.url("/hub/home"), timeout=30).text
    for name in set(re.findall(r'data-server-name="([^"]+)"', home)):
        hub.api("DELETE", f"/users/{hub.user}/servers/{name}", json={"remove": True})


def hub_rss_mib(cluster: str) -> float:
    pid = docker_exec(cluster, "hub", "systemctl", "show", "--property=MainPID", "--value", "jupyterhub").strip()
    return int(docker_exec(cluster, "hub", "ps", "-o", "rss=", "-p", pid)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", default="hpclab-demo")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--spawns", type=int, default=5)
    parser.add_argument("--servers", type=int, default=10)
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile(suffix=".crt") as ca:
        ca.write(docker_exec(args.cluster, "hub", "cat", "/etc/jupyterhub/tls/hub.crt").encode())
        ca.flush()
        alice = session(args.cluster, args.port, ca.name, "alice")
        bob = session(args.cluster, args.port, ca.name, "bob")
        for hub in (alice, bob):
            stop_all(hub)

        print(f"spawn to ready JupyterLab, {args.spawns} spawns each (seconds)")
        for kind, options in KIND_OPTIONS.items():
            times = []
            for number in range(args.spawns):
                times.append(spawn_to_ready(alice, f"bench-{kind}-{number}", options))
                stop_all(alice)
            print(
                f"  {kind:20s} median {statistics.median(times):5.2f}  min {min(times):5.2f}  "
                f"max {max(times):5.2f}  all {' '.join(f'{t:.2f}' for t in times)}"
            )

        idle = hub_rss_mib(args.cluster)
        per_user = (args.servers + 1) // 2
        for hub in (alice, bob):
            for number in range(per_user):
                spawn_to_ready(hub, f"bench-load-{number}", SLURM)
        running = hub_rss_mib(args.cluster)
        print(f"hub resident memory: {idle:.1f} MiB idle, {running:.1f} MiB with {2 * per_user} SLURM servers running")
        for hub in (alice, bob):
            stop_all(hub)
            hub.logout()


if __name__ == "__main__":
    main()

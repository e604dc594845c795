"""The hub against a Slurm controller that hangs, then stops: no server is lost."""

from __future__ import annotations

import time

import pytest

from conftest import password

SLURM = {"kind": "slurm", "partition": "cpu", "time": "00:30:00", "cpus": "1", "memory": "512M"}
SERVERS = {"alice": ("res-a1", "res-a2"), "bob": ("res-b1", "res-b2")}
# Longer than one poll interval (30 s, +20 % jitter) plus squeue's timeout (20 s): at
# least one of the hub's squeue calls hangs until it times out.
FROZEN_S = 60
STOPPED_S = 120


def server_jobs(node, users: str) -> list[str]:
    listing = node("hub").check_output(f"squeue --noheader --user={users} --format='%i|%j|%T'")
    return [line for line in listing.splitlines() if "|jupyterhub-res-" in line]


@pytest.fixture(scope="module")
def sessions(alice, fresh_login):
    users = {"alice": alice, "bob": fresh_login("bob")}
    paths = {}
    try:
        for user, names in SERVERS.items():
            for name in names:
                paths[name] = users[user].open_server(name, SLURM)
        yield users, paths
    finally:
        # Whatever the tests did: no server or job of theirs is left for the next module.
        for user in SERVERS:
            fresh_login(user)


def test_servers_outlive_a_hanging_then_stopped_controller(sessions, node):
    users, paths = sessions
    since = node("hub").check_output("date '+%Y-%m-%d %H:%M:%S'")
    assert len(server_jobs(node, "alice,bob")) == 4
    node("slurmctld").check_output("systemctl kill --signal=SIGSTOP slurmctld")
    try:
        time.sleep(FROZEN_S)
    finally:
        node("slurmctld").check_output("systemctl kill --signal=SIGCONT slurmctld")
    node("slurmctld").check_output("systemctl stop slurmctld")
    try:
        time.sleep(STOPPED_S)
    finally:
        node("slurmctld").check_output("systemctl start slurmctld")
    log = node("hub").check_output(f"journalctl -u jupyterhub --since '{since}' --no-pager")
    # The hub did ask during both troubles (a hung squeue ends by the hub's timeout or
    # Slurm's own MessageTimeout), and kept every server.
    assert "did not answer within" in log or "timed out" in log, log[-3000:]
    assert "Unable to contact slurm controller" in log, log[-3000:]
    assert "has left the queue" not in log
    assert " ended: " not in log
    for user, names in SERVERS.items():
        servers = users[user].servers()
        for name in names:
            assert servers[name]["ready"], servers[name]
            status = users[user].server_request("GET", paths[name], "/api/status")
            assert status.status_code == 200, status.text
    deadline = time.monotonic() + 120
    while len(jobs := server_jobs(node, "alice,bob")) != 4 or any(not job.endswith("|RUNNING") for job in jobs):
        assert time.monotonic() < deadline, jobs
        time.sleep(2)


def test_no_job_is_left_when_the_users_log_out(sessions, node):
    users, _ = sessions
    for session in users.values():
        session.logout()
    deadline = time.monotonic() + 120
    while jobs := server_jobs(node, "alice,bob"):
        assert time.monotonic() < deadline, jobs
        time.sleep(2)
    for user, session in users.items():
        session.login(password(user))
        assert set(session.servers()) <= {"", *SERVERS[user]}
        assert not any(server["ready"] or server["pending"] for server in session.servers().values())

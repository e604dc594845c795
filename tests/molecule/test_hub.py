"""JupyterHub on the cluster, driven over HTTPS through its proxy as users would."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import pytest

from conftest import as_user
from hubclient import HubSession, LabKernel

# alice's two servers that most tests here look at: her default one as a Slurm job and a
# named Interactive one.
SERVERS = {
    "": {"kind": "slurm", "partition": "cpu", "time": "00:30:00", "cpus": "2", "memory": "1G"},
    "jupyterlab_nerf": {"kind": "interactive"},
}


def alice_jobs(node):
    listing = node("hub").check_output("squeue --noheader --user=alice --format='%i|%j|%T|%N|%u'")
    return [line.split("|") for line in listing.splitlines() if line]


def server_process_environment(node, host, server_name):
    """Environment of alice's JupyterLab process for one server, read from /proc as root."""
    pids = node(host).check_output("pgrep -u alice -f jupyterhub-singleuser || true").split()
    for pid in pids:
        environ = node(host).check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
        variables = dict(line.split("=", 1) for line in environ.splitlines() if "=" in line)
        if variables.get("JUPYTERHUB_SERVER_NAME", "") == server_name:
            return variables
    raise AssertionError(f"no JupyterLab process of alice for server {server_name!r} on {host}")


def last_job_id(node):
    """Id of a probe job: consecutive ids before and after prove nothing was submitted between."""
    return int(node("hub").check_output(as_user("alice", "sbatch --parsable --output=/dev/null --wrap=true")))


@pytest.fixture(scope="module")
def servers(alice: HubSession) -> Iterator[None]:
    """alice's two servers, started unless they run already, stopped at the end."""
    for name, options in SERVERS.items():
        if not alice.servers().get(name, {}).get("ready"):
            response = alice.start(name, options)
            assert response.status_code in (201, 202), response.text
    for name in SERVERS:
        alice.wait_ready(name)
    yield
    # The logout test may have stopped them already, and ended alice's session.
    for name in SERVERS:
        alice.stop(name)


def test_slurm_server_runs_as_alice_on_a_compute_node(alice, node, servers):
    [(job_id, name, state, host, user)] = alice_jobs(node)
    assert (name, state, user) == ("jupyterhub-default", "RUNNING", "alice")
    assert host in ("cn1", "cn2")
    lab = alice.http.get(alice.url("/user/alice/lab"), timeout=60)
    assert lab.status_code == 200
    assert "JupyterLab" in lab.text
    environment = server_process_environment(node, host, "")
    # The job's own allocation, not the node's size.
    assert environment["MEM_LIMIT"] == str(1024**3)
    assert environment["CPU_LIMIT"] == "2"
    log = node("hub").file(f"/cluster/work/alice/jupyter_spawner_logs/default.slurm-{job_id}.log")
    assert log.user == "alice"
    assert f"slurm server default on {host}" in log.content_string


def test_interactive_named_server_is_memory_capped(alice, node, servers):
    lab = alice.http.get(alice.url("/user/alice/jupyterlab_nerf/lab"), timeout=60)
    assert lab.status_code == 200
    uid = node("hub").check_output("id -u alice")
    unit = f"hpclab-interactive-{uid}-jupyterlab_nerf.service"
    cap = int(node("hub").check_output(f"systemctl show --property=MemoryMax --value {unit}"))
    assert node("hub").check_output(f"systemctl show --property=User --value {unit}") == "alice"
    assert server_process_environment(node, "hub", "jupyterlab_nerf")["MEM_LIMIT"] == str(cap)

    kernel = LabKernel(alice, "/user/alice/jupyterlab_nerf")
    output, error = kernel.execute("import os; print(os.environ['MEM_LIMIT'])")
    assert (output.strip(), error) == (str(cap), "")
    # Past the cap the kernel enforces it: the allocating process dies, the server lives.
    output, error = kernel.execute(f"block = bytearray({cap + 256 * 1024**2}); print('allocated')", timeout=120)
    assert "allocated" not in output
    assert error == "kernel died"
    kernel.close()
    assert alice.http.get(alice.url("/user/alice/jupyterlab_nerf/api/status"), timeout=30).status_code == 200
    fresh = LabKernel(alice, "/user/alice/jupyterlab_nerf")
    assert fresh.execute("print(6 * 7)") == ("42\n", "")
    fresh.close()


def test_hub_home_lists_each_server_with_its_kind_job_node_and_time_left(alice, node, servers):
    page = alice.http.get(alice.url("/hub/home"), timeout=60).text
    [(job_id, _, _, host, _)] = alice_jobs(node)
    assert f'<td class="server-kind">SLURM</td>\n    <td class="server-job">{job_id}</td>' in page
    assert f'<td class="server-node">{host}</td>' in page
    assert '<td class="server-kind">Interactive</td>' in page
    assert '<td class="server-time-left">00:2' in page


def test_bob_cannot_reach_alices_servers(login, servers):
    bob = login("bob")
    for path in ("/user/alice/lab", "/user/alice/jupyterlab_nerf/api/status", "/user/alice/api/kernels"):
        response = bob.http.get(bob.url(path), timeout=60)
        assert response.status_code == 403, (path, response.status_code, response.url)
    assert bob.api("GET", "/users/alice").status_code == 404
    assert bob.start("", {"kind": "interactive"}).status_code in (201, 202)
    assert bob.api("DELETE", "/users/alice/servers/jupyterlab_nerf").status_code == 404
    bob.logout()


def test_restarting_the_hub_keeps_servers_running_and_reachable(alice, node, servers):
    jobs_before = alice_jobs(node)
    node("hub").check_output("systemctl restart jupyterhub")
    # The proxy keeps routing while the hub restarts.
    assert alice.http.get(alice.url("/user/alice/jupyterlab_nerf/api/status"), timeout=30).status_code == 200
    # Back up, the hub checks each server it finds before listing it ready again.
    deadline = time.monotonic() + 120
    while True:
        response = alice.api("GET", "/users/alice")
        if response.status_code == 200 and not any(s["pending"] for s in response.json()["servers"].values()):
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(1)
    servers = alice.servers()
    assert servers[""]["ready"]
    assert servers["jupyterlab_nerf"]["ready"]
    assert alice_jobs(node) == jobs_before
    assert alice.http.get(alice.url("/user/alice/lab"), timeout=60).status_code == 200


# Each hostile input and the message that must come back (and nothing submitted).
BAD_INPUTS = [
    ({"kind": "slurm", "partition": "cpu\n#SBATCH --uid=0"}, "partition: line breaks"),
    ({"kind": "slurm", "account": "proj\n#SBATCH --uid=0"}, "account: line breaks"),
    ({"kind": "slurm", "time": "01:00:00\n#SBATCH --uid=0"}, "time: line breaks"),
    ({"kind": "slurm", "account": "$(touch /tmp/pwned)"}, "is not a Slurm name"),
    ({"kind": "slurm", "account": "`touch /tmp/pwned`"}, "is not a Slurm name"),
    ({"kind": "slurm", "partition": "$(id)"}, "is not a partition of this cluster"),
    ({"kind": "slurm", "partition": "nosuchpartition"}, "is not a partition of this cluster"),
    ({"kind": "slurm", "partition": "visu", "time": "04:00:01"}, "exceeds the visu partition"),
    ({"kind": "slurm", "cpus": "-1"}, "is not a whole number"),
    ({"kind": "slurm", "cpus": "1000000"}, "is outside 1-32"),
    ({"kind": "slurm", "memory": "-1G"}, "is not a size"),
    ({"kind": "slurm", "memory": "99999999G"}, "exceeds the 32000M"),
    ({"kind": "slurm", "gpus": "-2"}, "is not a whole number"),
    ({"kind": "slurm", "gpus": "3"}, "the cpu partition has at most 2 GPUs per node"),
    ({"kind": "slurm", "account": "a" * 5000}, "at most 256 characters"),
    ({"kind": "slurm", "environment": "JUPYTERHUB_API_TOKEN=stolen"}, "set by the service"),
    ({"kind": "slurm", "environment": "X=1\n#SBATCH --uid=0"}, "is not a variable name"),
    ({"kind": "slurm", "environment": "X=1\nnot a pair"}, "line 2: expected NAME=value"),
    ({"kind": "slurm", "environment": "$(touch /tmp/pwned)=1"}, "is not a variable name"),
    ({"kind": "root"}, "is not one of"),
]


def test_bad_input_is_refused_with_its_reason_and_submits_nothing(alice, node):
    before = last_job_id(node)
    for fields, reason in BAD_INPUTS:
        form = alice.submit_form("badinput", fields)
        assert 400 <= form.status_code < 500, (fields, form.status_code)
        assert "alert-danger" in form.text, fields
        assert html.escape(reason, quote=True) in form.text, (fields, reason)
        api = alice.start("badinput", fields)
        assert api.status_code == 400, (fields, api.status_code, api.text)
        assert reason in api.json()["message"], (fields, api.text)
    assert last_job_id(node) == before + 1
    assert not node("hub").file("/tmp/pwned").exists
    assert not node("cn1").file("/tmp/pwned").exists
    assert alice.api("DELETE", "/users/alice/servers/badinput", json={"remove": True}).status_code == 204


def test_a_server_that_dies_says_why_and_where_its_log_is(alice, node):
    # A Python home without Python in it: the job starts, then the server cannot.
    options = {"kind": "slurm", "memory": "1G", "time": "00:10:00", "environment": {"PYTHONHOME": "/nonexistent"}}
    started = time.monotonic()
    response = alice.start("broken", options)
    if response.status_code == 202:
        # Still starting when the API answered: the spawn page shows the failure later.
        while alice.servers().get("broken", {}).get("pending"):
            assert time.monotonic() - started < 120
            time.sleep(1)
        message = html.unescape(alice.http.get(alice.url("/hub/spawn-pending/alice/broken"), timeout=30).text)
    else:
        assert response.status_code == 500, response.text
        message = response.json()["message"]
    # Reported as soon as the job ends, not after JupyterHub's 120 s HTTP timeout.
    assert time.monotonic() - started < 60
    reason = re.search(r"Slurm job (\d+) ended: FAILED \(reason: NonZeroExitCode[^)]*\)\. Log: (\S+\.log)", message)
    assert reason, message[-3000:]
    assert reason.group(2).endswith(f"/broken.slurm-{reason.group(1)}.log")
    assert "No module named 'encodings'" in node("hub").file(reason.group(2)).content_string
    assert alice.api("DELETE", "/users/alice/servers/broken", json={"remove": True}).status_code in (202, 204)


def test_logout_stops_every_server_and_cancels_queued_jobs(alice, login, node, servers):
    # bob fills the visu node, so that alice's next server waits in the queue.
    blocker = node("hub").check_output(
        as_user("bob", "sbatch --parsable --partition=visu --exclusive --output=/dev/null --wrap='sleep 300'")
    )
    try:
        response = alice.start("queued", {"kind": "slurm", "partition": "visu", "time": "00:10:00", "memory": "1G"})
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 30
        while not any(job[1] == "jupyterhub-queued" and job[2] == "PENDING" for job in alice_jobs(node)):
            assert time.monotonic() < deadline, alice_jobs(node)
            time.sleep(0.5)
        assert len(alice_jobs(node)) == 2
        # The spawn page's progress stream says why it waits.
        assert "is pending in the queue (Resources)" in alice.first_progress_message("queued", "pending in the queue")
        alice.logout()
        assert alice_jobs(node) == []
        uid = node("hub").check_output("id -u alice")
        units = node("hub").check_output(f"systemctl list-units --no-legend 'hpclab-interactive-{uid}*'")
        assert units == ""
        # The session has ended: the hub asks for a login again.
        home = alice.http.get(alice.url("/hub/home"), timeout=30, allow_redirects=False)
        assert home.status_code == 302
        assert "/hub/login" in home.headers["Location"]
    finally:
        node("hub").run(f"scancel {blocker}")

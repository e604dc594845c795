"""Sandbox mode: alice's servers in their own network namespace, against the same
servers without it (which shows that each check can fail)."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from conftest import REPO, as_user
from hubclient import LabKernel
from webpages import HUB, log_in, screenshot

SLURM = {"kind": "slurm", "partition": "cpu", "time": "00:30:00", "cpus": "1", "memory": "1G"}
# Server name -> (spawn options, sandboxed)
SERVERS = {
    "sandboxed": ({**SLURM, "sandbox": True}, True),
    "open": (SLURM, False),
    "isandboxed": ({"kind": "interactive", "sandbox": True}, True),
}
TIMINGS: dict[str, float] = {}
# A web server on the node's loopback that no sandbox may reach.
NODE_SERVICE_PORT = 18777

WEB_SERVER = (
    "import http.server, threading\n"
    "server = http.server.HTTPServer(('0.0.0.0', 0), http.server.SimpleHTTPRequestHandler)\n"
    "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
    "print(server.server_address[1])"
)


def fetch_code(url: str) -> str:
    """Kernel code that prints the HTTP status of url, or the error."""
    return (
        "import urllib.request\n"
        "try:\n"
        f"    print(urllib.request.urlopen({url!r}, timeout=5).status)\n"
        "except Exception as error:\n"
        "    print('failed', error)"
    )


def http_status(address: str) -> str:
    """A shell command that prints the HTTP status of address, 000 when nothing answers."""
    return f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://{address}/"


def job_node(node, server: str) -> str:
    return node("hub").check_output(f"squeue --noheader --user=alice --name=jupyterhub-{server} --format=%N").strip()


@pytest.fixture(scope="module")
def labs(alice, node):
    """Each server started and opened once, with its path, node and a kernel in it."""
    opened = {}
    for name, (options, _) in SERVERS.items():
        started = time.monotonic()
        path = alice.open_server(name, options)
        TIMINGS[f"{name}_spawn_to_lab_s"] = round(time.monotonic() - started, 2)
        host = job_node(node, name) if options["kind"] == "slurm" else "hub"
        opened[name] = (path, host, LabKernel(alice, path))
    yield opened
    for name, (_, _, kernel) in opened.items():
        kernel.close()
        alice.stop(name)
    (REPO / "artifacts").mkdir(exist_ok=True)
    (REPO / "artifacts" / "sandbox-timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


@pytest.mark.parametrize("server", SERVERS)
def test_a_port_opened_in_a_notebook_is_reachable_only_without_the_sandbox(labs, login, node, server):
    path, host, kernel = labs[server]
    sandboxed = SERVERS[server][1]
    stdout, errors = kernel.execute(WEB_SERVER)
    assert errors == "", errors
    port = int(stdout)
    # The web server runs: the notebook itself reaches it.
    assert kernel.execute(fetch_code(f"http://127.0.0.1:{port}/"))[0].strip() == "200"
    as_root = node(host).run(http_status(f"127.0.0.1:{port}")).stdout
    as_bob = node(host).run(as_user("bob", http_status(f"127.0.0.1:{port}"))).stdout
    other = "cn2" if host != "cn2" else "cn1"
    from_another_node = node(other).run(http_status(f"{host}:{port}")).stdout
    if sandboxed:
        assert (as_root, as_bob, from_another_node) == ("000", "000", "000")
    else:
        assert (as_root, as_bob, from_another_node) == ("200", "200", "200")
    # Whatever the mode, the server answers through the hub to alice only.
    bob = login("bob")
    assert bob.http.get(bob.url(f"{path}/api/status"), timeout=60).status_code in (403, 404)


@pytest.mark.parametrize("server", SERVERS)
def test_nothing_inside_the_sandbox_reaches_the_nodes_loopback(labs, node, server):
    _, host, kernel = labs[server]
    unit = f"hpclab-test-loopback-{server}"
    node(host).check_output(
        f"systemd-run --unit={unit} --property=Type=exec python3 -m http.server {NODE_SERVICE_PORT} --bind 127.0.0.1"
    )
    try:
        deadline = time.monotonic() + 20
        while node(host).run(f"curl -s -o /dev/null http://127.0.0.1:{NODE_SERVICE_PORT}/").rc != 0:
            assert time.monotonic() < deadline, "the node's own web server did not start"
            time.sleep(0.2)
        answer = kernel.execute(fetch_code(f"http://127.0.0.1:{NODE_SERVICE_PORT}/"))[0].strip()
    finally:
        node(host).run(f"systemctl stop {unit}")
    if SERVERS[server][1]:
        assert answer.startswith("failed"), answer
    else:
        assert answer == "200"


@pytest.mark.parametrize("server", ["sandboxed", "isandboxed"])
def test_slurm_commands_work_from_inside_the_sandbox(labs, node, server):
    _, _, kernel = labs[server]
    stdout, errors = kernel.execute(
        "import subprocess\n"
        "print(subprocess.run(['squeue', '--noheader', '--me', '--format=%j'], capture_output=True, text=True,"
        " check=True).stdout)\n"
        "sbatch = ['sbatch', '--parsable', '--partition=cpu', '--time=1', '--output=/dev/null', '--wrap=sleep 300']\n"
        "print('job', subprocess.run(sbatch, capture_output=True, text=True, check=True).stdout)"
    )
    assert errors == "", errors
    assert "jupyterhub-sandboxed" in stdout
    job = re.search(r"job (\d+)", stdout).group(1)
    assert node("hub").check_output(f"squeue --noheader --job={job} --format=%u") == "alice"
    node("hub").check_output(f"scancel {job}")


def test_terminals_and_a_proxied_tensorboard_work_in_the_sandbox(alice, labs):
    path = labs["sandboxed"][0]
    terminal = alice.server_request("POST", path, "/api/terminals")
    assert terminal.status_code == 200, terminal.text
    alice.server_request("DELETE", path, f"/api/terminals/{terminal.json()['name']}")
    loaded = alice.server_request("POST", path, "/module", json={"modules": ["tensorboard/2.21"]})
    assert loaded.status_code == 200, loaded.text
    launched = alice.server_request("POST", path, "/hpclab/api/apps/tensorboard/1", json={"arguments": "--logdir ."})
    assert launched.status_code == 200, launched.text
    page = alice.http.get(alice.url(f"{path}/tensorboard/1/"), timeout=60)
    assert page.status_code == 200
    assert "<title>TensorBoard</title>" in page.text


@pytest.mark.parametrize("server", ["sandboxed", "open"])
def test_setuid_programs_do_not_work_in_the_sandbox(labs, server):
    stdout, _ = labs[server][2].execute(
        "import subprocess\nprint(subprocess.run(['sudo', '-n', 'true'], capture_output=True, text=True).stderr)"
    )
    # Inside, root is not mapped: sudo runs without its setuid bit (and sees root's files
    # as nobody's); outside it runs as root and refuses alice.
    assert ("must be owned by uid 0 and have the setuid bit set" in stdout) is SERVERS[server][1], stdout
    assert ("a password is required" in stdout) is not SERVERS[server][1], stdout


def test_the_banner_and_the_hub_home_page_mark_sandboxed_servers(labs, browser):
    page = browser.new_page(ignore_https_errors=True, viewport={"width": 1400, "height": 900})
    try:
        log_in(page, "alice")
        page.goto(f"{HUB}/hub/home")
        rows = page.locator("#hpclab-servers .home-server-row")
        expect(rows.filter(has=page.locator("td.server-name", has_text="📦 sandboxed 📦"))).to_have_count(1)
        expect(rows.filter(has=page.locator("td.server-name", has_text="📦 isandboxed 📦"))).to_have_count(1)
        expect(page.locator("td.server-name", has_text=re.compile(r"^open$"))).to_have_count(1)
        screenshot(page, "sandbox-01-hub-home")
        for server, sandboxed in (("sandboxed", True), ("open", False)):
            page.goto(f"{HUB}{labs[server][0]}/lab")
            expect(page.locator("#jp-top-panel")).to_be_visible(timeout=60_000)
            expect(page.locator(".jp-LauncherCard").first).to_be_visible(timeout=60_000)
            banner = page.locator("#hpclab-sandbox-banner")
            if sandboxed:
                expect(banner).to_have_text("📦 Sandbox mode")
                expect(banner).to_have_attribute("title", re.compile("private network"))
            else:
                expect(banner).to_have_count(0)
            screenshot(page, f"sandbox-02-lab-{server}")
    finally:
        page.close()


def test_a_node_that_cannot_make_the_sandbox_refuses_to_start_the_server(alice, node):
    """A node without an openable tun device: the spawn fails and says why; nothing runs."""
    node("cn2").check_output("chmod 0600 /dev/net/tun")
    try:
        response = alice.start("nosandbox", {**SLURM, "partition": "visu", "sandbox": True})
        # The REST API answers with the failure when it comes within its wait, else the
        # spawn page's progress shows it.
        if response.status_code == 500:
            message = response.json()["message"]
        else:
            assert response.status_code == 202, response.text
            message = alice.first_progress_message("nosandbox", "sandbox cannot start", timeout=120)
        assert "/dev/net/tun cannot be opened on cn2 (Permission denied)" in message
        assert "No server was started outside it" in message
        assert "/cluster/work/alice/jupyter_spawner_logs/nosandbox.slurm-" in message
    finally:
        node("cn2").check_output("chmod 0666 /dev/net/tun")
    deadline = time.monotonic() + 60
    while alice.servers().get("nosandbox", {}).get("pending"):
        assert time.monotonic() < deadline, alice.servers()
        time.sleep(1)
    assert not alice.servers().get("nosandbox", {}).get("ready")
    assert node("hub").check_output("squeue --noheader --user=alice --name=jupyterhub-nosandbox") == ""
    log = node("cn2").check_output("cat /cluster/work/alice/jupyter_spawner_logs/nosandbox.slurm-*.log")
    assert "The sandbox cannot start" in log
    # jupyterhub-singleuser never ran: it would have logged its start.
    assert "Jupyter Server" not in log
    alice.api("DELETE", "/users/alice/servers/nosandbox", json={"remove": True})

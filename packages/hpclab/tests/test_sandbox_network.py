"""The sandbox: pasta's forwarding, what fails when the node lacks something, and real
sandboxes started through hpclab-singleuser (as nobody when the tests run as root,
because pasta run by root switches to nobody)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_hub import HubRecord, fake_hub
from hpclab.lab.sandbox import network
from hpclab.lab.sandbox.network import Forwarding, SandboxUnavailable, check_support, hub_on_loopback, pasta_command

SOURCE = Path(__file__).parents[1] / "src"
# The system's Python: the test venv's may live where the unprivileged user cannot go.
PYTHON = "/usr/bin/python3"
needs_pasta = pytest.mark.skipif(shutil.which("pasta") is None, reason="pasta (passt) is not installed")


def test_only_the_labs_port_goes_in_and_nothing_goes_out():
    argv = pasta_command("/usr/bin/pasta", Forwarding(40001, False), 1234, Path("/run/p.pid"))
    assert "--tcp-ports=40001" in argv
    assert "--tcp-ns=none" in argv
    assert {"--udp-ports=none", "--udp-ns=none", "--no-map-gw", "--config-net"} <= set(argv)
    assert argv[-1] == "1234"


def test_an_interactive_lab_is_forwarded_on_loopback_and_reaches_a_local_hub():
    argv = pasta_command("pasta", Forwarding(40001, True, (8081,)), 1, Path("p"))
    assert "--tcp-ports=127.0.0.1/40001" in argv
    assert "--tcp-ns=8081" in argv


def test_a_hub_on_this_node_is_reached_through_loopback():
    environment = {
        "JUPYTERHUB_API_URL": f"http://{socket.gethostname()}:8081/hub/api",
        "JUPYTERHUB_ACTIVITY_URL": f"http://{socket.gethostname()}:8081/hub/api/users/alice/activity",
    }
    urls, ports = hub_on_loopback(environment)
    assert urls == {
        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_ACTIVITY_URL": "http://127.0.0.1:8081/hub/api/users/alice/activity",
    }
    assert ports == (8081,)


def test_a_hub_on_another_node_is_left_alone():
    # 192.0.2.0/24 is TEST-NET-1: never an address of this node.
    assert hub_on_loopback({"JUPYTERHUB_API_URL": "http://192.0.2.7:8081/hub/api"}) == ({}, ())


def test_a_node_without_pasta_says_so():
    with pytest.raises(SandboxUnavailable, match=r"pasta \(Debian package passt\) is not installed on"):
        check_support(pasta="no-such-pasta")


@needs_pasta
def test_a_node_without_the_tun_device_says_so(monkeypatch):
    monkeypatch.setattr(network, "TUN_DEVICE", "/nonexistent/tun")
    with pytest.raises(SandboxUnavailable, match=r"/nonexistent/tun cannot be opened .*mode 0666"):
        check_support()


@needs_pasta
def test_a_node_without_user_namespaces_says_so():
    # `false` stands for an unshare that the kernel refuses.
    with pytest.raises(SandboxUnavailable, match="user namespaces are not available to users"):
        check_support(unshare="false")


# ----- real sandboxes -------------------------------------------------------------------

SERVER = """
import http.server, json, os, sys, threading, urllib.parse, urllib.request
lab_port = urllib.parse.urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"]).port
other_port = int(sys.argv[1])
# Reach the hub from inside, as jupyterhub-singleuser does.
urllib.request.urlopen(urllib.request.Request(
    os.environ["JUPYTERHUB_API_URL"] + "/batchspawner", data=json.dumps({"inside": "hello"}).encode(), method="POST"))
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.getpid()} {os.path.realpath('/proc/self')} {os.getuid()} {os.environ.get('JUPYTERHUB_API_URL')}"
        self.send_response(200); self.end_headers(); self.wfile.write(body.encode())
    def log_message(self, *args): pass
threading.Thread(target=http.server.HTTPServer(("", other_port), Answer).serve_forever, daemon=True).start()
http.server.HTTPServer(("", lab_port), Answer).serve_forever()
"""


def _as_unprivileged() -> list[str]:
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged user can read and write (tmp_path is root's own),
    with a copy of the package (the checkout may be where that user cannot go)."""
    directory = Path(tempfile.mkdtemp(prefix="hpclab-sandbox-test-"))
    directory.chmod(0o777)
    shutil.copytree(SOURCE / "hpclab", directory / "src" / "hpclab", ignore=shutil.ignore_patterns("labextension"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _launch(hub: HubRecord, work: Path, command: list[str], **extra: str) -> subprocess.Popen[bytes]:
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(work / "src"),
        "WORK": str(work),
        "SLURM_JOB_ID": "9",
        "JUPYTERHUB_API_URL": hub.url,
        "JUPYTERHUB_API_TOKEN": "token-9",
        "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:0/user/nobody/",
        "HPCLAB_SANDBOX": "1",
        **extra,
    }
    return subprocess.Popen(
        [*_as_unprivileged(), PYTHON, "-m", "hpclab.lab.launcher", "--kind=slurm", "--", *command],
        env=environment,
    )


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
        return answer.read().decode()


def _wait_for(hub: HubRecord, name: str) -> object:
    deadline = time.monotonic() + 15
    while name not in hub.fields():
        assert time.monotonic() < deadline, f"the launcher never sent {name}"
        time.sleep(0.05)
    return hub.fields()[name]


@needs_pasta
def test_only_the_labs_port_is_reachable_from_the_node(shared_dir):
    other_port = 48765
    with fake_hub() as hub:
        launcher = _launch(hub, shared_dir, [PYTHON, "-c", SERVER, str(other_port)])
        try:
            port = int(_wait_for(hub, "port"))
            deadline = time.monotonic() + 15
            while True:
                try:
                    answer = _get(port)
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the Lab's port never answered"
                    time.sleep(0.05)
            pid, proc_self, uid, api_url = answer.split()
            # No PID namespace: the server finds itself in /proc; the user is still the user.
            assert proc_self == f"/proc/{pid}"
            assert int(uid) == (65534 if os.geteuid() == 0 else os.geteuid())
            # The hub is on this node's loopback, which the sandbox reaches through pasta.
            assert api_url == hub.url
            assert hub.fields()["inside"] == "hello"
            with pytest.raises(urllib.error.URLError, match="Connection refused"):
                _get(other_port)
        finally:
            launcher.send_signal(signal.SIGTERM)
            status = launcher.wait(timeout=15)
    # The signal reached the server, which ended of it (128 + SIGTERM), and pasta with it.
    assert status == 128 + signal.SIGTERM
    assert subprocess.run(["pgrep", "-f", f"pasta.*--tcp-ports={port}"], check=False).returncode == 1


@needs_pasta
def test_without_pasta_nothing_starts_and_the_hub_is_told(shared_dir):
    marker = shared_dir / "started"
    tools = shared_dir / "bin"
    tools.mkdir()
    for name in ("setpriv", "unshare", "touch"):
        (tools / name).symlink_to(shutil.which(name))
    with fake_hub() as hub:
        launcher = _launch(hub, shared_dir, ["touch", str(marker)], PATH=str(tools))
        assert launcher.wait(timeout=30) == 1
    error = hub.fields()["startup_error"]
    assert "The sandbox cannot start: pasta (Debian package passt) is not installed" in str(error)
    assert "No server was started outside it" in str(error)
    assert "port" not in hub.fields()
    assert not marker.exists()
    log = (shared_dir / "jupyter_spawner_logs" / "default.slurm-9.log").read_text()
    assert "pasta (Debian package passt) is not installed" in log

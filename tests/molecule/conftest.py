"""Fixtures that reach the simulated cluster's nodes through `docker exec`.

The cluster's containers are named <cluster>-<node>; Molecule sets HPCLAB_CLUSTER_NAME
so that these tests can also run against `make demo` (hpclab-demo) by hand.
"""

from __future__ import annotations

import html
import http.server
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import testinfra
from playwright.sync_api import Browser, sync_playwright
from testinfra.host import Host

from hubclient import HubSession

# A test on the cluster waits on Slurm and browsers: minutes, not the unit tests' limit.
CLUSTER_TEST_TIMEOUT_S = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.timeout(CLUSTER_TEST_TIMEOUT_S))


CLUSTER = os.environ.get("HPCLAB_CLUSTER_NAME", "hpclab-demo")
HUB_PORT = os.environ.get("HPCLAB_HUB_PORT", "8443")
NODES = ("hub", "slurmctld", "cn1", "cn2")
# Chromium on a closed network: no background connections, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MODULE_NODES = ("hub", "cn1", "cn2")


def container_name(node: str) -> str:
    return f"{CLUSTER}-{node}"


@pytest.fixture(scope="session")
def node() -> Callable[[str], Host]:
    """Root shell on a node of the cluster, by its host name."""
    hosts = {name: testinfra.get_host(f"docker://{container_name(name)}") for name in NODES}
    return hosts.__getitem__


def as_user(user: str, script: str) -> str:
    """A command that runs script in user's login shell (so Lmod and $WORK are set)."""
    return f"su - {shlex.quote(user)} -c {shlex.quote(script)}"


BOBS_PAGE_TITLE = "bob's page"


@contextmanager
def bobs_page_on(host: Host, port: int) -> Iterator[None]:
    """bob's web page on the node's loopback port: the attacks that try to have it served
    at alice's URLs (where it would run as her) look for its title."""
    host.check_output(
        as_user(
            "bob",
            f'mkdir -p ~/trap && echo "<title>{BOBS_PAGE_TITLE}</title>" > ~/trap/index.html && '
            f"(setsid python3 -m http.server {port} --bind 127.0.0.1 --directory ~/trap > /dev/null 2>&1 &)",
        )
    )
    try:
        deadline = time.monotonic() + 30
        while host.run(f"curl -sf -m 2 http://127.0.0.1:{port}/ -o /dev/null").rc != 0:
            assert time.monotonic() < deadline, f"bob's page did not come up on port {port}"
            time.sleep(0.5)
        yield
    finally:
        host.run(f"pkill -u bob -f 'http.server {port}'")


REPO = Path(__file__).resolve().parents[2]


def password(user: str) -> str:
    """Demo passwords are generated once on the control machine (see inventories/demo)."""
    return (REPO / ".state" / CLUSTER / "credentials" / user).read_text().split()[0]


@pytest.fixture(scope="session")
def hub_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The hub's own certificate: the tests trust it and nothing else."""
    path = tmp_path_factory.mktemp("tls") / "hub.crt"
    path.write_bytes(
        subprocess.run(
            ["docker", "exec", container_name("hub"), "cat", "/etc/jupyterhub/tls/hub.crt"],
            check=True,
            capture_output=True,
        ).stdout
    )
    return str(path)


@pytest.fixture(scope="session")
def login(hub_ca: str) -> Callable[[str], HubSession]:
    """A logged-in hub session of a demo user, through the public HTTPS port."""

    def logged_in(user: str) -> HubSession:
        session = HubSession(f"https://127.0.0.1:{HUB_PORT}", user, hub_ca)
        response = session.login(password(user))
        assert response.status_code == 302, response.text[:500]
        return session

    return logged_in


@pytest.fixture(scope="session")
def fresh_login(login: Callable[[str], HubSession]) -> Callable[[str], HubSession]:
    """A user logged in with no server: logging out stops whatever an earlier test left
    (once the hub has finished checking the servers it found at its own start), and the
    named servers it left are deleted."""

    def fresh(user: str) -> HubSession:
        session = login(user)
        deadline = time.monotonic() + 120
        while any(server["pending"] for server in session.servers().values()) and time.monotonic() < deadline:
            time.sleep(1)
        session.logout()
        session = login(user)
        session.remove_stopped_servers()
        return session

    return fresh


@pytest.fixture(scope="module")
def alice(fresh_login: Callable[[str], HubSession]) -> HubSession:
    return fresh_login("alice")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium (a downloaded browser cannot run here), headless."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site_linking_to() -> Iterator[Callable[[str], str]]:
    """A page on another origin (as a site on the internet would be) that sends the
    browser to a target of the hub: a link (#link), a meta refresh, an image and a form;
    its URL."""
    servers = []

    def site(target: str) -> str:
        quoted = html.escape(target, quote=True)
        page = (
            f"<html><head><meta http-equiv='refresh' content='1;url={quoted}'></head><body>"
            f"<img src='{quoted}'><a id='link' href='{quoted}'>free cluster hours</a></body></html>"
        ).encode()

        class Site(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://localhost:{server.server_address[1]}/"

    yield site
    for server in servers:
        server.shutdown()

"""Applications behind alice's JupyterLab server, through the hub's proxy: launched as
the launch dialog does, with the programs from the demo's module tree."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from conftest import BOBS_PAGE_TITLE, REPO, as_user, bobs_page_on
from hubclient import LabKernel
from webpages import HUB, log_in, screenshot

ARTIFACTS = REPO / "artifacts"
TIMINGS: dict[str, float] = {}
INTERACTIVE = {"kind": "interactive"}


@pytest.fixture(scope="module")
def alice_lab(alice):
    path = alice.open_server("apps", INTERACTIVE)
    yield alice, path
    alice.stop("apps")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "apps-timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


def load_module(session, path: str, module: str) -> None:
    """What the Lmod panel does."""
    response = session.server_request("POST", path, "/module", json={"modules": [module]})
    assert response.status_code == 200, response.text


def launch(session, path: str, app: str, endpoint: int, arguments: str = "", environment: str = ""):
    started = time.monotonic()
    response = session.server_request(
        "POST", path, f"/hpclab/api/apps/{app}/{endpoint}", json={"arguments": arguments, "environment": environment}
    )
    return response, time.monotonic() - started


def test_tensorboard_on_endpoint_1_with_a_relative_logdir(alice_lab, node):
    alice, path = alice_lab
    # A run with one scalar, written as PyTorch or Keras would (TensorBoard's own writer).
    node("hub").check_output(
        as_user(
            "alice",
            '/cluster/software/envs/tensorboard-2.21/bin/python -c "'
            "import time\n"
            "from tensorboard.compat.proto import event_pb2, summary_pb2\n"
            "from tensorboard.summary.writer.event_file_writer import EventFileWriter\n"
            "writer = EventFileWriter('tb-runs/run1')\n"
            "summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag='loss', simple_value=0.5)])\n"
            "writer.add_event(event_pb2.Event(wall_time=time.time(), step=1, summary=summary))\n"
            'writer.close()"',
        )
    )
    load_module(alice, path, "tensorboard/2.21")
    response, seconds = launch(alice, path, "tensorboard", 1, "--logdir tb-runs")
    assert response.status_code == 200, response.text
    TIMINGS["tensorboard_s"] = round(seconds, 2)
    assert response.json()["url"] == f"{path}/tensorboard/1/"
    page = alice.http.get(alice.url(f"{path}/tensorboard/1/"), timeout=60)
    assert page.status_code == 200
    assert "<title>TensorBoard</title>" in page.text
    # The relative --logdir was read from the file browser's root (alice's home).
    deadline = time.monotonic() + 60
    while True:
        runs = alice.http.get(alice.url(f"{path}/tensorboard/1/data/runs"), timeout=60).json()
        if runs or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert runs == ["run1"]


def test_tensorboard_without_logdir_says_so(alice_lab):
    alice, path = alice_lab
    response, _ = launch(alice, path, "tensorboard", 2, "--port 1")
    assert response.status_code == 400
    assert "needs --logdir" in response.json()["message"]


def test_mlflow_in_mlruns_dir_lists_the_demo_experiment(alice_lab, node):
    alice, path = alice_lab
    node("hub").check_output(
        as_user(
            "alice",
            'cd $WORK && MLFLOW_ALLOW_FILE_STORE=true /cluster/software/envs/mlflow-3.17/bin/python -c "'
            "import mlflow; mlflow.set_tracking_uri('file:mlflow/mlruns'); mlflow.set_experiment('demo-experiment')\n"
            "with mlflow.start_run(): mlflow.log_metric('loss', 0.25)\"",
        )
    )
    load_module(alice, path, "mlflow/3.17")
    response, seconds = launch(alice, path, "mlflow", 0, environment="MLRUNS_DIR=$WORK/mlflow")
    assert response.status_code == 200, response.text
    TIMINGS["mlflow_s"] = round(seconds, 2)
    experiments = alice.http.get(
        alice.url(f"{path}/mlflow/0/ajax-api/2.0/mlflow/experiments/search?max_results=20"), timeout=60
    )
    assert experiments.status_code == 200, experiments.text[:500]
    assert "demo-experiment" in [experiment["name"] for experiment in experiments.json()["experiments"]]


def test_a_failing_app_shows_its_own_error_on_its_page(alice_lab):
    alice, path = alice_lab
    started = time.monotonic()
    response, _ = launch(alice, path, "tensorboard", 0, "--logdir tb-runs --no-such-flag")
    assert response.status_code == 502
    assert time.monotonic() - started < 30
    assert "unrecognized arguments: --no-such-flag" in response.json()["log_tail"]
    page = alice.http.get(alice.url(f"{path}/tensorboard/0/"), timeout=60)
    assert page.status_code == 502
    assert "unrecognized arguments: --no-such-flag" in page.text
    assert "/cluster/work/alice/jupyter_spawner_logs/apps.app-tensorboard-0.log" in page.text


def test_novnc_outside_the_visu_partition_says_the_vnc_server_is_missing(alice_lab):
    alice, path = alice_lab
    response, _ = launch(alice, path, "novnc", 0)
    assert response.status_code == 502
    assert "visu partition" in response.json()["log_tail"]
    assert "vncserver" in response.json()["log_tail"]


def test_novnc_desktop_on_the_visu_node_in_the_browser(alice, browser):
    path = alice.open_server(
        "visu", {"kind": "slurm", "partition": "visu", "time": "00:20:00", "cpus": "1", "memory": "1G"}
    )
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1300, "height": 800})
    try:
        response, seconds = launch(alice, path, "novnc", 0)
        assert response.status_code == 200, response.text
        TIMINGS["novnc_s"] = round(seconds, 2)
        page = context.new_page()
        log_in(page, "alice")
        page.goto(HUB + response.json()["url"])
        # noVNC's own status line: its websocket reached the VNC server, in alice's session.
        expect(page.locator("#noVNC_status")).to_have_text(re.compile(r"Connected .*to alice@cn2"), timeout=60_000)
        page.wait_for_timeout(2000)
        screenshot(page, "12-novnc-desktop")
    finally:
        context.close()
        alice.stop("visu")


CODE_SERVER_MODULE = "code-server/4.139.1"


@pytest.fixture(scope="module")
def alice_code_server(alice_lab, node):
    """code-server from its module, as the launch dialog starts it (one endpoint), in a
    server of its own that alice started with umask 000 in her profile: a user's own
    settings must not open her apps' sockets to others."""
    alice, _ = alice_lab
    node("hub").check_output(as_user("alice", "echo 'print(1)' > ~/from-home.py && cp ~/.profile ~/.profile.orig"))
    node("hub").check_output(as_user("alice", "echo 'umask 000' >> ~/.profile"))
    try:
        path = alice.open_server("code", INTERACTIVE)
    finally:
        node("hub").check_output(as_user("alice", "mv ~/.profile.orig ~/.profile"))
    load_module(alice, path, CODE_SERVER_MODULE)
    response, seconds = launch(alice, path, "code-server", 0)
    assert response.status_code == 200, response.text
    TIMINGS["code_server_s"] = round(seconds, 2)
    assert response.json()["url"] == f"{path}/code-server/0/"
    yield alice, path
    alice.stop("code")


def test_code_server_has_one_endpoint(alice_lab):
    alice, path = alice_lab
    apps = {app["name"]: app for app in alice.server_request("GET", path, "/hpclab/api/apps").json()["apps"]}
    assert apps["code-server"]["endpoints"] == 1
    response, _ = launch(alice, path, "code-server", 1)
    assert response.status_code == 404


def code_server_listeners(host, kind: str) -> list[str]:
    """The local addresses alice's code-server processes listen on (ss -x: Unix, -t: TCP).
    ss runs as alice: root in the container may not read another user's descriptors."""
    pids = set(host.check_output("pgrep -u alice -f code-server").split())
    return [
        line.split()[4]
        for line in host.check_output(as_user("alice", f"ss -Hl{kind}p")).splitlines()
        if pids & set(re.findall(r"pid=(\d+)", line))
    ]


def test_code_server_opens_alices_home_on_a_unix_socket(alice_code_server, node, browser):
    _, path = alice_code_server
    # It listens on a Unix socket in alice's private runtime directory and on no TCP port.
    sockets = code_server_listeners(node("hub"), "x")
    app_socket = next(socket_path for socket_path in sockets if socket_path.endswith("/code-server-0.sock"))
    assert node("hub").check_output(f"stat -c '%U %a' {app_socket.rsplit('/', 1)[0]}") == "alice 700"
    assert code_server_listeners(node("hub"), "t") == []
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1300, "height": 800})
    try:
        page = context.new_page()
        log_in(page, "alice")
        page.goto(f"{HUB}{path}/code-server/0/")
        # The workbench's explorer shows alice's home folder and her file in it: the page
        # and its websocket to the server both went through her Lab.
        expect(page.get_by_role("treeitem", name="from-home.py")).to_be_visible(timeout=90_000)
        expect(page).to_have_title(re.compile(r"\balice\b"))
        screenshot(page, "13-code-server")
    finally:
        context.close()


def test_alices_code_server_does_not_serve_bobs_port(alice_code_server, node):
    """code-server's own /proxy/<port> forwards to any port of the node: bob's page
    would be served at alice's URL, in her origin, as her."""
    alice, path = alice_code_server
    with bobs_page_on(node("hub"), 7012):
        for route in ("proxy", "absproxy"):
            response = alice.http.get(alice.url(f"{path}/code-server/0/{route}/7012/"), timeout=60)
            assert BOBS_PAGE_TITLE not in response.text
            assert response.status_code in (403, 404)


def test_bob_cannot_plant_files_where_alices_code_server_looks_for_its_own(alice_code_server, node):
    """Node, which code-server runs on, keeps a compile cache under $TMPDIR with a name
    bob can predict and runs the bytecode it finds there: in /tmp, bob's planted
    bytecode would run as alice. Every process of her code-server has its temporary
    directory in her server's private one."""
    host = node("hub")
    app_socket = next(path for path in code_server_listeners(host, "x") if path.endswith("/code-server-0.sock"))
    private_dir = app_socket.rsplit("/", 1)[0]
    pids = host.check_output("pgrep -u alice -f code-server").split()
    assert len(pids) >= 2, pids  # the server and its helpers (extension host, file watcher, ...)
    for pid in pids:
        environment = host.run(as_user("alice", f"tr '\\0' '\\n' < /proc/{pid}/environ"))
        if environment.rc != 0:  # a helper that has ended since
            assert host.run(f"test -d /proc/{pid}").rc != 0, environment.stderr
            continue
        assert f"TMPDIR={private_dir}" in environment.stdout.splitlines(), pid
    assert host.check_output(f"stat -c '%U %a' {private_dir}") == "alice 700"


def test_bob_reaches_nothing_of_alices_code_server(alice_code_server, login, node):
    _, path = alice_code_server
    # Every Unix socket alice's code-server listens on (its own, its IPC hooks for
    # terminals): none is abstract (those have no permissions), bob can connect to none.
    sockets = code_server_listeners(node("hub"), "x")
    assert sockets
    assert all(socket_path.startswith("/") for socket_path in sockets), sockets
    connect = "python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' {}"
    for socket_path in sockets:
        assert node("hub").run(connect.format(socket_path)).rc == 0, socket_path
        assert node("hub").run(as_user("bob", connect.format(socket_path))).rc != 0, socket_path
    bob = login("bob")
    assert bob.http.get(bob.url(f"{path}/code-server/0/"), timeout=60).status_code in (403, 404)


def test_running_apps_are_listed_and_a_shut_down_app_is_gone(alice_lab, node):
    alice, path = alice_lab
    running = alice.server_request("GET", path, "/hpclab/api/apps").json()["running"]
    assert {(app["app"], app["endpoint"]) for app in running} >= {("tensorboard", 1), ("mlflow", 0)}
    assert alice.server_request("DELETE", path, "/hpclab/api/apps/tensorboard/1").status_code == 204
    assert node("hub").run("pgrep -u alice -f 'tensorboard --host'").stdout == ""
    running = alice.server_request("GET", path, "/hpclab/api/apps").json()["running"]
    assert ("tensorboard", 1) not in {(app["app"], app["endpoint"]) for app in running}
    # Relaunched with other arguments.
    response, _ = launch(alice, path, "tensorboard", 1, "--logdir . --reload_interval 60")
    assert response.status_code == 200, response.text


def test_bob_reaches_none_of_alices_apps(alice_lab, login, node):
    alice, alice_path = alice_lab
    log = node("hub").check_output("cat /cluster/work/alice/jupyter_spawner_logs/apps.app-tensorboard-1.log")
    inner_port = re.findall(r"--port=(\d+)", log)[-1]
    sockets = node("hub").check_output("ls -d /tmp/hpclab-apps-*/tensorboard-1.sock").split()
    # Directly on the node: TensorBoard's port exists only in its own network, its socket
    # sits in a directory only alice can enter.
    assert node("hub").run(as_user("bob", f"curl -s -m 5 http://127.0.0.1:{inner_port}/")).rc != 0
    for socket_path in sockets:
        assert node("hub").run(as_user("bob", f"curl -s -m 5 --unix-socket {socket_path} http://x/")).rc != 0
    assert node("hub").run(f"curl -s -m 5 --unix-socket {sockets[0]} http://x/ -o /dev/null").rc == 0
    # Through the proxy: alice's server is not bob's, and bob's /proxy/<port> refuses her ports.
    bob = login("bob")
    assert bob.http.get(bob.url(f"{alice_path}/tensorboard/1/"), timeout=60).status_code in (403, 404)
    bob_path = bob.open_server("apps", INTERACTIVE)
    try:
        kernel_port = alice_http_server(alice, alice_path)
        assert alice.http.get(alice.url(f"{alice_path}/proxy/{kernel_port}/"), timeout=60).status_code == 200
        refused = bob.http.get(bob.url(f"{bob_path}/proxy/{kernel_port}/"), timeout=60)
        assert refused.status_code == 403
        assert "nothing of yours listens on 127.0.0.1:" in refused.text
    finally:
        bob.stop("apps")


def test_a_file_larger_than_the_proxys_buffer_downloads_whole(alice_lab, node):
    alice, path = alice_lab
    size = 300 * 2**20  # stock jupyter-server-proxy gives up past 100 MB
    node("hub").check_output(as_user("alice", f"truncate -s {size} ~/big-download.bin"))
    try:
        port = alice_http_server(alice, path)
        received = 0
        with alice.http.get(alice.url(f"{path}/proxy/{port}/big-download.bin"), stream=True, timeout=300) as response:
            assert response.status_code == 200
            for chunk in response.iter_content(1 << 20):
                received += len(chunk)
        assert received == size
    finally:
        node("hub").check_output(as_user("alice", "rm -f ~/big-download.bin"))


def alice_http_server(alice, path: str) -> int:
    """A plain web server alice starts from a notebook, on a TCP port of the node."""
    kernel = LabKernel(alice, path)
    stdout, errors = kernel.execute(
        "import http.server, socket, threading\n"
        "server = http.server.HTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler)\n"
        "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
        "print(server.server_address[1])"
    )
    assert errors == "", errors
    return int(stdout.strip())

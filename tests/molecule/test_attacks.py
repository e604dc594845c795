"""The threat model, played by the attacker (docs/security.md lists these tests).

Each test is an attack a user of the cluster (or a site on the internet, through a
user's browser) could try; it sets up what it needs and checks that the attack is
refused and that nothing changed. The hub's account is `jupyterhub`: some attacks
start from it, as if a user had found a way to act as it.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from playwright.sync_api import Browser

from conftest import as_user
from hubclient import HubSession, LabKernel
from webpages import HUB, log_in

HELPER = "/opt/jupyterhub/venv/bin/hpclab-interactive"
SLURM = {"kind": "slurm", "partition": "cpu", "time": "00:20:00", "cpus": "1", "memory": "512M"}
INTERACTIVE = {"kind": "interactive"}


def as_hub_account(command: str) -> str:
    return f"runuser -u jupyterhub -- {command}"


def server_environment(node, host: str, user: str, server: str) -> dict[str, str]:
    """The environment of a user's server process, which its user can read."""
    for pid in node(host).check_output(f"pgrep -u {user} -f jupyterhub-singleuser || true").split():
        text = node(host).run(f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout
        variables = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        if variables.get("JUPYTERHUB_SERVER_NAME", "") == server and "JUPYTERHUB_API_TOKEN" in variables:
            return variables
    raise AssertionError(f"no server {server!r} of {user} on {host}")


def user_jobs(node, user: str) -> list[str]:
    return node("hub").check_output(f"squeue --noheader --user={user} --format='%i|%j|%T'").split()


# ----- 1. the node's report channel -----------------------------------------------------


def report(session: HubSession, token: str, body: object) -> requests.Response:
    """What a server's launcher posts to the hub, sent by hand with the server's token."""
    return requests.post(
        session.url("/hub/api/batchspawner"),
        data=json.dumps(body),
        headers={"Authorization": f"token {token}"},
        verify=session.ca_file,
        timeout=30,
    )


def test_a_server_token_cannot_set_spawner_settings_through_the_report_api(alice, node):
    path = alice.open_server("reporter", SLURM)
    alice.open_server("other", INTERACTIVE)
    before = alice.api("GET", "/users/alice").json()["servers"]
    [job] = [line.split("|")[0] for line in user_jobs(node, "alice") if "jupyterhub-reporter" in line]
    host = node("hub").check_output(f"squeue --noheader --job={job} --format=%N")
    token = server_environment(node, host, "alice", "reporter")["JUPYTERHUB_API_TOKEN"]
    attacks = [
        {"sudo": ["/bin/false"]},
        {"slurm_bin": "/tmp"},
        {"ip": "cn2"},
        {"ip": "cn2", "port": 22},
        {"user": "bob"},
        {"port": "22; id"},
        {"port": 0},
        {"port": 70000},
        {"port": True},
        {"startup_error": ["not", "text"]},
        {"startup_error": "x" * 5000},
        # The running server's port, now that it is up, or the other server's.
        {"port": 22},
        {"port": 22, "name": "other"},
        ["port", 22],
    ]
    for body in attacks:
        response = report(alice, token, body)
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        assert response.json().get("message"), (body, response.text)
    # alice's own user token (not a server's) is not a server's report either.
    own_token = alice.api("POST", "/users/alice/tokens", json={"note": "attack"}).json()["token"]
    assert report(alice, own_token, {"port": 22}).status_code == 403
    assert alice.api("GET", "/users/alice").json()["servers"] == before
    assert alice.http.get(alice.url(f"{path}/api/status"), timeout=30).status_code == 200
    # Her server still stops cleanly: the hub still cancels the job as alice with its own sudo.
    assert alice.stop("reporter").status_code in (202, 204)
    deadline = time.monotonic() + 60
    while alice.servers().get("reporter") and time.monotonic() < deadline:
        time.sleep(1)
    assert "reporter" not in alice.servers()
    assert not [line for line in user_jobs(node, "alice") if "jupyterhub-reporter" in line]
    alice.stop("other")


# ----- 2. the root helper ---------------------------------------------------------------


def test_the_hub_account_cannot_give_the_root_helper_a_configuration(node):
    hub = node("hub")
    proof = "/tmp/hpclab-helper-proof"
    hub.run(f"rm -f {proof}")
    config = {
        "command": ["/bin/sh", "-c", f"id -u > {proof}"],
        "memory_max_bytes": 1 << 30,
        "allowed_groups": [],
        "min_uid": 0,
        "environment_dir": "/tmp/hpclab-attack-env",
    }
    hub.check_output(as_hub_account(f"sh -c {shlex.quote(f'echo {shlex.quote(json.dumps(config))} > /tmp/x.json')}"))
    try:
        for arguments in (
            "start root default --config /tmp/x.json",
            "start root --config=/tmp/x.json",
            "start alice default --config /tmp/x.json",
            "start alice default extra",
            "stop alice default --config /tmp/x.json",
            "start root",
            "start nobody",
        ):
            result = hub.run(as_hub_account(f"sudo -n {HELPER} {arguments}") + " < /dev/null")
            assert result.rc != 0, (arguments, result.stdout, result.stderr)
        time.sleep(2)
        assert not hub.file(proof).exists
        assert hub.check_output("systemctl list-units --all --no-legend 'hpclab-interactive-0*'") == ""
    finally:
        hub.run(f"rm -f /tmp/x.json {proof}")


# ----- 3. sudo's run-as list --------------------------------------------------------------


def test_the_hub_account_cannot_submit_jobs_as_system_accounts(node):
    hub = node("hub")
    script = "#!/bin/sh\n#SBATCH --output=/dev/null\ntrue\n"

    def submit_as(user: str):
        submit = as_hub_account(f"sudo -n -u {user} /usr/bin/sbatch --parsable")
        return hub.run(f"printf {shlex.quote(script)} | {submit}")

    assert submit_as("alice").rc == 0
    for account in ("root", "munge", "slurm", "nobody", "jupyterhub"):
        assert submit_as(account).rc != 0, account
    # A service account that a site's group happens to contain is still not served.
    hub.check_output("gpasswd -a nobody demoproj")
    try:
        assert submit_as("nobody").rc != 0
        result = hub.run(as_hub_account(f"sudo -n {HELPER} start nobody") + " < /dev/null")
        assert result.rc != 0
        assert hub.check_output("systemctl list-units --all --no-legend 'hpclab-interactive-65534*'") == ""
    finally:
        hub.run("gpasswd -d nobody demoproj")


# ----- 4. noVNC desktops -----------------------------------------------------------------

VISU = {**SLURM, "partition": "visu", "memory": "1G"}
PROBE_VNC = (
    "import socket, sys\n"
    "probe = socket.socket()\n"
    "try:\n"
    "    probe.connect(('127.0.0.1', {port}))\n"
    "except OSError:\n"
    "    print('refused'); sys.exit()\n"
    "version = probe.recv(12); probe.sendall(version); count = probe.recv(1)[0]\n"
    "print('security types', list(probe.recv(count)))\n"
)


def launch_desktop(session: HubSession, path: str) -> requests.Response:
    return session.server_request("POST", path, "/hpclab/api/apps/novnc/0", json={"arguments": "", "environment": ""})


def desktop_display(node, user: str) -> str:
    """The display of the user's one desktop on cn2, from its socket's owner."""
    sockets = node("cn2").check_output(f"find /tmp/.X11-unix -user {user} -name 'X*' -printf '%f\\n'")
    [name] = sockets.split()
    return ":" + name.removeprefix("X")


def test_bob_on_the_visu_node_cannot_see_type_into_or_connect_to_alices_desktop(alice, login, node, browser: Browser):
    bob = login("bob")
    cn2 = node("cn2")
    alice_path = alice.open_server("desktop", VISU)
    bob_path = bob.open_server("desktop", VISU)
    context = browser.new_context(ignore_https_errors=True)
    try:
        alice_launch = launch_desktop(alice, alice_path)
        assert alice_launch.status_code == 200, alice_launch.text
        # A second user on the node gets a desktop of their own at the same time.
        bob_launch = launch_desktop(bob, bob_path)
        assert bob_launch.status_code == 200, bob_launch.text
        display = desktop_display(node, "alice")
        assert desktop_display(node, "bob") != display
        # alice's own cookie opens her display (her terminal is there) ...
        windows = cn2.run(
            as_user(
                "alice",
                f"for f in ~/.vnc/Xauthority-*; do XAUTHORITY=$f xwininfo -display {display} -root -tree"
                " && break; done",
            )
        )
        assert "xterm" in windows.stdout.lower(), windows.stderr
        # ... and bob, without it, can neither list her windows nor capture her screen.
        for command in (f"xwininfo -display {display} -root -tree", f"xwd -display {display} -root -silent"):
            attempt = cn2.run(as_user("bob", f"{command} > /tmp/bob-capture; echo rc=$?"))
            assert "rc=0" not in attempt.stdout, (command, attempt.stdout, attempt.stderr)
        cn2.run("rm -f /tmp/bob-capture")
        # Nor connect to her VNC server without its password.
        arguments = cn2.check_output("ps -o args= -u alice | grep -- -rfbport | grep -v grep")
        vnc_port = int(re.search(r"-rfbport (\d+)", arguments).group(1))
        answer = cn2.check_output(as_user("bob", f"python3 -c {shlex.quote(PROBE_VNC.format(port=vnc_port))}"))
        assert answer == "refused" or ("security types" in answer and 1 not in json.loads(answer.split(" ", 2)[2]))
        # alice's browser, with the URL of her launch, connects.
        page = context.new_page()
        log_in(page, "alice")
        page.goto(HUB + alice_launch.json()["url"])
        page.wait_for_selector("text=/Connected .*to alice@/", timeout=60_000)
    finally:
        context.close()
        alice.stop("desktop")
        bob.stop("desktop")


# ----- 5. Interactive unit names ----------------------------------------------------------

LOOKALIKES = {"ana": 3801, "ana-maria": 3802}


@pytest.fixture(scope="module")
def lookalike_users(node) -> Iterator[dict[str, HubSession]]:
    """Two accounts whose names, with a server name, look alike: ana and ana-maria."""
    hub = node("hub")
    for name, uid in LOOKALIKES.items():
        hub.check_output(f"id {name} || useradd --uid {uid} --gid demoproj --create-home --shell /bin/bash {name}")
        hub.check_output(f"install -d -o {name} -g demoproj -m 0700 /cluster/work/{name}")
        hub.check_output(f"echo {name}:lookalike-{uid} | chpasswd")
    yield {name: name for name in LOOKALIKES}
    for name in LOOKALIKES:
        hub.run(f"pkill -u {name}; userdel --remove {name}; rm -rf /cluster/work/{name}")


def login_as(hub_ca: str, user: str, secret: str) -> HubSession:
    session = HubSession(HUB, user, hub_ca)
    assert session.login(secret).status_code == 302
    return session


def test_interactive_servers_of_lookalike_names_do_not_share_a_unit(lookalike_users, hub_ca, login):
    ana = login_as(hub_ca, "ana", f"lookalike-{LOOKALIKES['ana']}")
    ana_maria = login_as(hub_ca, "ana-maria", f"lookalike-{LOOKALIKES['ana-maria']}")
    try:
        ana_path = ana.open_server("maria-default", INTERACTIVE)
        ana_maria_path = ana_maria.open_server("", INTERACTIVE)
        # Both are up, each its own user's.
        for session, path in ((ana, ana_path), (ana_maria, ana_maria_path)):
            kernel = LabKernel(session, path)
            assert kernel.execute("import getpass; print(getpass.getuser())") == (f"{session.user}\n", "")
            kernel.close()
        # Stopping one leaves the other running.
        assert ana_maria.stop("").status_code in (202, 204)
        time.sleep(3)
        assert ana.http.get(ana.url(f"{ana_path}/api/status"), timeout=30).status_code == 200
    finally:
        admin = login("hpcadmin")
        for session in (ana, ana_maria):
            session.logout()
            admin.api("DELETE", f"/users/{session.user}")


# ----- 6. /proxy/<port> --------------------------------------------------------------------


def start_web_server(session: HubSession, path: str, address: str, port: int, text: str) -> int:
    kernel = LabKernel(session, path)
    stdout, errors = kernel.execute(
        "import http.server, threading\n"
        "class Page(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        f"        body = {text!r}.encode()\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers(); self.wfile.write(body)\n"
        f"server = http.server.HTTPServer(({address!r}, {port}), Page)\n"
        "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
        "print(server.server_address[1])"
    )
    assert errors == "", errors
    return int(stdout.strip())


@pytest.mark.parametrize("bob_address", ["127.0.0.2", "node"])
def test_bob_listening_on_another_address_of_alices_port_does_not_get_her_app(alice, login, node, bob_address):
    bob = login("bob")
    alice_path = alice.open_server("ports", INTERACTIVE)
    bob_path = bob.open_server("ports", INTERACTIVE)
    try:
        port = start_web_server(alice, alice_path, "127.0.0.1", 0, "alice's secret")
        address = node("hub").check_output("hostname -i").split()[0] if bob_address == "node" else bob_address
        start_web_server(bob, bob_path, address, port, "bob's page")
        assert alice.http.get(alice.url(f"{alice_path}/proxy/{port}/"), timeout=30).text == "alice's secret"
        for route in (f"/proxy/{port}/", f"/proxy/localhost:{port}/", f"/proxy/127.0.0.1:{port}/"):
            response = bob.http.get(bob.url(f"{bob_path}{route}"), timeout=30)
            assert "alice's secret" not in response.text, route
            assert response.status_code == 403, (route, response.status_code)
    finally:
        alice.stop("ports")
        bob.stop("ports")


# ----- 7. logout from another site -----------------------------------------------------------


@pytest.fixture
def other_site(site_linking_to) -> str:
    """A page on another origin that sends the browser to the hub's logout."""
    return site_linking_to(f"{HUB}/hub/logout")


def test_another_site_cannot_log_alice_out_and_cancel_her_queued_job(alice, node, browser: Browser, other_site):
    blocker = node("hub").check_output(
        as_user("bob", "sbatch --parsable --partition=visu --exclusive --output=/dev/null --wrap='sleep 300'")
    )
    context = browser.new_context(ignore_https_errors=True)
    try:
        response = alice.start("queued", {**SLURM, "partition": "visu"})
        assert response.status_code == 202, response.text
        page = context.new_page()
        log_in(page, "alice")
        page.goto(other_site)
        page.wait_for_timeout(3000)
        page.goto(other_site)
        page.click("#link")
        page.wait_for_timeout(2000)
        assert any("jupyterhub-queued" in line for line in user_jobs(node, "alice"))
        assert page.context.request.get(f"{HUB}/hub/api/user").status == 200
        # A request without the page's XSRF token is refused too.
        assert alice.http.post(alice.url("/hub/logout"), timeout=30).status_code == 403
        assert alice.http.get(alice.url("/hub/logout"), timeout=30).status_code == 200
        assert any("jupyterhub-queued" in line for line in user_jobs(node, "alice"))
        # The hub's own Logout, in the same browser, still logs out and cancels the job.
        page.goto(f"{HUB}/hub/home")
        page.click("#logout")
        page.wait_for_url(re.compile(r"/hub/login"), timeout=120_000)
        assert not any("jupyterhub-queued" in line for line in user_jobs(node, "alice"))
    finally:
        context.close()
        node("hub").run(f"scancel {blocker}")


# ----- 8. the module index ---------------------------------------------------------------------


def test_a_module_file_evaluated_by_the_index_does_not_run_as_root(node):
    hub = node("hub")
    # A project's module tree that its members write and everyone reads.
    tree = "/cluster/software/project-modules"
    proof = "/tmp/hpclab-spider-proof"
    hub.run(f"rm -f {proof}")
    hub.check_output(f"install -d -o alice -m 0755 {tree}")
    hub.check_output(as_user("alice", f"mkdir -p {tree}/evil"))
    hub.check_output(as_user("alice", f"echo 'os.execute(\"id -u > {proof}\")' > {tree}/evil/1.0.lua"))
    # Added to the site's MODULEPATH by an admin.
    hub.check_output(f"cp /etc/lmod/modulespath /tmp/modulespath.saved && echo {tree} >> /etc/lmod/modulespath")
    try:
        hub.check_output("systemctl start hpclab-module-index.service")
        assert hub.file(proof).exists, "the index did not evaluate the project's module files"
        assert int(hub.file(proof).content_string) != 0
        assert hub.file(proof).user not in ("root", "alice")
    finally:
        hub.run(f"cp /tmp/modulespath.saved /etc/lmod/modulespath; rm -rf {tree} {proof}")
        hub.run("systemctl start hpclab-module-index.service")


# ----- 9. bad input, and variables delivered as accepted ------------------------------------------


def test_unicode_digits_and_odd_json_types_get_a_400_with_the_reason(alice):
    for fields in (
        {**SLURM, "cpus": "²"},
        {**SLURM, "cpus": "١٢"},
        {**SLURM, "memory": "٤G"},
        {**SLURM, "gpus": "³"},
        {**SLURM, "cpus": 1.5},
        {**SLURM, "environment": ["X=1"]},
        {**SLURM, "environment": {"X": 1}},
        {**SLURM, "sandbox": []},
    ):
        api = alice.start("unicode", fields)
        assert api.status_code == 400, (fields, api.status_code, api.text)
        assert api.json()["message"], api.text
        if all(isinstance(value, str) for value in fields.values()):
            form = alice.submit_form("unicode", fields)
            assert form.status_code == 400, (fields, form.status_code)
            assert "Traceback" not in form.text
            assert "not a whole number" in form.text or "not a size" in form.text
    alice.api("DELETE", "/users/alice/servers/unicode", json={"remove": True})


EVERYDAY = {
    "PATH": "/opt/project/bin:/usr/local/bin:/usr/bin:/bin",
    "PYTHONPATH": "/opt/project/lib/python",
    "LD_PRELOAD": "",
    "BASH_ENV": "/dev/null",
    "PERL5LIB": "/opt/project/lib/perl5",
    "TERMINFO": "/usr/share/terminfo",
    "PROJECT_NOTE": 'it\'s a "quoted" $value, with commas',
}


@pytest.mark.parametrize("options", [SLURM, INTERACTIVE], ids=["slurm", "interactive"])
def test_variables_reach_the_server_exactly_as_accepted(alice, node, options):
    environment = "\n".join(f"{name}={value}" for name, value in EVERYDAY.items())
    path = alice.open_server("variables", {**options, "environment": environment})
    try:
        kernel = LabKernel(alice, path)
        stdout, errors = kernel.execute(
            f"import json, os; print(json.dumps({{n: os.environ.get(n) for n in {sorted(EVERYDAY)!r}}}))"
        )
        kernel.close()
        assert errors == ""
        assert json.loads(stdout) == EVERYDAY
    finally:
        alice.stop("variables")
        deadline = time.monotonic() + 60
        while alice.servers().get("variables") and time.monotonic() < deadline:
            time.sleep(1)


# ----- 10. the hub's API on the cluster network ----------------------------------------------

# Root on any machine of the cluster network can read what crosses it; this records every
# frame the hub's node sends or receives there (not loopback) until it is killed.
SNIFFER = """
import socket, sys
capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
with open(sys.argv[1], "wb") as out:
    while True:
        frame, address = capture.recvfrom(65535)
        if address[0] != "lo":
            out.write(frame)
            out.flush()
"""


@pytest.fixture
def sniffer(node) -> Iterator[Callable[[], bytes]]:
    hub = node("hub")
    sniff = f"python3 -c {shlex.quote(SNIFFER)} /tmp/hpclab-sniffed"
    hub.check_output(f"nohup {sniff} >/dev/null 2>&1 & echo $! > /tmp/hpclab-sniffer.pid")
    time.sleep(1)

    def captured() -> bytes:
        hub.run("kill $(cat /tmp/hpclab-sniffer.pid)")
        return base64.b64decode(hub.check_output("base64 --wrap=0 /tmp/hpclab-sniffed"))

    yield captured
    hub.run("kill $(cat /tmp/hpclab-sniffer.pid); rm -f /tmp/hpclab-sniffed /tmp/hpclab-sniffer.pid")


def test_a_sniffer_on_the_cluster_network_does_not_see_a_server_token(alice, node, sniffer):
    path = alice.open_server("sniffed", SLURM)
    try:
        # The server's calls to the hub: its start report, the OAuth exchange of the Lab
        # opened above, and its activity, which a stop and the hub's check make it send.
        assert alice.http.get(alice.url(f"{path}/api/status"), timeout=30).status_code == 200
        [job] = [line.split("|")[0] for line in user_jobs(node, "alice") if "jupyterhub-sniffed" in line]
        host = node("hub").check_output(f"squeue --noheader --job={job} --format=%N")
        environment = server_environment(node, host, "alice", "sniffed")
        captured = sniffer()
        # The capture saw this server's traffic (the proxy's requests to it) ...
        assert f"{path}/api/status".encode() in captured
        # ... but never its token, and nothing on the hub answers in clear from the nodes.
        token_in_clear = environment["JUPYTERHUB_API_TOKEN"].encode() in captured
        assert not token_in_clear, "the server's token crossed the cluster network in clear"
        assert environment["JUPYTERHUB_API_URL"].startswith("https://")
        hub_port = loopback_ports(node)[0]
        clear = node(host).run(f"curl --silent --max-time 5 http://hub:{hub_port}/hub/api/")
        assert clear.rc != 0, clear.stdout
    finally:
        alice.stop("sniffed")


def test_a_servers_token_is_not_written_to_the_shared_file_systems(alice, node):
    """Shared homes and WORK cross the network (NFS without krb5p) and live on in snapshots."""
    path = alice.open_server("filed", SLURM)
    try:
        kernel = LabKernel(alice, path)
        kernel.execute("print(1)")
        kernel.close()
        [job] = [line.split("|")[0] for line in user_jobs(node, "alice") if "jupyterhub-filed" in line]
        host = node("hub").check_output(f"squeue --noheader --job={job} --format=%N")
        token = server_environment(node, host, "alice", "filed")["JUPYTERHUB_API_TOKEN"]
        shared = "/home/alice /cluster/work/alice /cluster/scratch/alice"
        found = node(host).run(f"grep -rlF {token} {shared}").stdout.split()
        assert found == [], f"the server's token is in {found}"
    finally:
        alice.stop("filed")


def ask_for_token(node, host: str, user: str, payload: dict[str, str]) -> tuple[int, str]:
    """A request to the token handover, made as user on host, through the hub's TLS port."""
    hub_uid = node("hub").check_output("id -u jupyterhub")
    make = f"munge --restrict-uid={hub_uid} --string={shlex.quote(json.dumps(payload))}"
    post = (
        "curl --silent --write-out '\\n%{http_code}' --header 'Content-Type: application/json' "
        "--data @- https://hub:8443/hub/api/hpclab/server-token"
    )
    # A credential is base64 between colons: nothing in it needs quoting in JSON.
    script = f'printf \'{{"credential": "%s"}}\' "$({make})" | {post}'
    body, _, status = node(host).check_output(as_user(user, script)).rpartition("\n")
    return int(status), body


def test_bob_cannot_get_the_token_of_alices_server_from_the_handover(alice, node):
    path = alice.open_server("handover", SLURM)
    try:
        status, body = ask_for_token(node, "cn1", "bob", {"user": "alice", "server": "handover"})
        assert status == 403, body
        # alice herself gets nothing either once her server has started: it took its token.
        status, body = ask_for_token(node, "cn1", "alice", {"user": "alice", "server": "handover"})
        assert status == 409, body
        assert "token" not in json.loads(body)
        assert alice.http.get(alice.url(f"{path}/api/status"), timeout=30).status_code == 200
    finally:
        alice.stop("handover")


# Binds 127.0.0.1:<port> as soon as it is free, until the time is up; says when it did.
SQUATTER = """
import socket, sys, time
port, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.close()
        time.sleep(0.005)
        continue
    print("bound", port, flush=True)
    listener.close()
    break
"""


def loopback_ports(node) -> list[int]:
    """The hub's and the proxy API's ports, from the hub's configuration."""
    config = json.loads(node("hub").check_output("cat /etc/jupyterhub/jupyterhub_config.json"))
    urls = [config["JupyterHub"]["hub_bind_url"], config["ConfigurableHTTPProxy"]["api_url"]]
    return [int(url.rsplit(":", 1)[1].strip("/")) for url in urls]


def test_bob_cannot_take_the_hubs_ports_while_it_restarts(node, login):
    hub = node("hub")
    squatters = [
        f"nohup python3 -c {shlex.quote(SQUATTER)} {port} 40 > /tmp/squatter-{port} 2>&1 &"
        for port in loopback_ports(node)
    ]
    hub.check_output(as_user("bob", " ".join(squatters)))
    try:
        hub.check_output("systemctl restart jupyterhub-proxy jupyterhub")
        deadline = time.monotonic() + 90
        while hub.run("curl --silent --fail --insecure https://127.0.0.1:8443/hub/health").rc != 0:
            assert time.monotonic() < deadline, "the hub did not come back"
            time.sleep(1)
        taken = hub.check_output(f"cat {' '.join(f'/tmp/squatter-{port}' for port in loopback_ports(node))}")
        assert "bound" not in taken, taken
        # The proxy reaches the hub, not bob: a login works.
        assert login("alice").servers() is not None
    finally:
        hub.run("pkill -u bob -f 'import socket, sys, time'; rm -f /tmp/squatter-*")

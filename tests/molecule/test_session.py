"""A server's session: a SLURM server's time left, warnings, save and clean end at its
time limit (in the browser), idle servers stopped by the hub's idle culler while busy
ones are kept, the idle warning's keep button, and '+1 h' within the cluster's limits.

The module shortens the hub's idle settings (Interactive servers idle 120 s, activity
reported every 20 s, the culler looking every 10 s) for the servers it starts, and puts
the site's back at the end.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from conftest import as_user
from hubclient import HubSession, LabKernel
from webpages import HUB, log_in, screenshot

CONFIG = "/etc/jupyterhub/jupyterhub_config.json"
IDLE_LIMIT_S = 120
CULL_EVERY_S = 10
NOTEBOOK = "before-the-limit.ipynb"
EDIT = "print('typed in the browser, never saved by hand')"
USER_CONFIG = "~/.jupyter/jupyter_server_config.json"
# Idle kernels shut down after 30 s, checked every 10 s; busy ones never (the site's rule).
KERNEL_CULLING = json.dumps({"MappingKernelManager": {"cull_idle_timeout": 30, "cull_interval": 10}})


def restart_hub(hub) -> None:
    hub.check_output("systemctl restart jupyterhub")
    deadline = time.monotonic() + 120
    while hub.run("curl --silent --fail --insecure https://127.0.0.1:8443/hub/health").rc != 0:
        assert time.monotonic() < deadline, "the hub did not come back"
        time.sleep(1)


@pytest.fixture(scope="module")
def short_idle_limits(node) -> Iterator[None]:
    hub = node("hub")
    site = hub.check_output(f"cat {CONFIG}")
    config = json.loads(site)
    spawner = config["HpclabSpawner"]
    spawner["idle_timeouts"] = {**spawner["idle_timeouts"], "interactive": IDLE_LIMIT_S}
    spawner["activity_interval"] = 20
    culler = next(service for service in config["JupyterHub"]["services"] if service["name"] == "idle-culler")
    culler["command"] = [
        f"--cull-every={CULL_EVERY_S}" if argument.startswith("--cull-every=") else argument
        for argument in culler["command"]
    ]
    hub.check_output(f"printf %s {shlex.quote(json.dumps(config))} > {CONFIG}")
    restart_hub(hub)
    yield
    hub.check_output(f"printf '%s\\n' {shlex.quote(site)} > {CONFIG}")
    restart_hub(hub)


@pytest.fixture(scope="module")
def session(short_idle_limits, fresh_login) -> HubSession:
    return fresh_login("alice")


@pytest.fixture(scope="module")
def idle_and_busy(session: HubSession, node) -> dict[str, str]:
    """Two Interactive servers started together: one left alone, one running a cell that
    keeps a core busy, its connection closed as a closed tab leaves it, beside an idle
    kernel. alice's own configuration shortens kernel culling (2 h on the site) for the
    busy server's start only."""
    hub = node("hub")
    paths = {"idle": session.open_server("idle", {"kind": "interactive"})}
    hub.check_output(
        as_user("alice", f"mkdir -p ~/.jupyter && printf %s {shlex.quote(KERNEL_CULLING)} > {USER_CONFIG}")
    )
    try:
        paths["busy"] = session.open_server("busy", {"kind": "interactive"})
    finally:
        hub.check_output(as_user("alice", f"rm -f {USER_CONFIG}"))
    LabKernel(session, paths["busy"]).run_and_leave("while True:\n    pass")
    idle_kernel = LabKernel(session, paths["busy"])
    idle_kernel.execute("x = 1")
    idle_kernel.socket.close()
    return paths


def hub_view(session: HubSession, server: str) -> dict:
    return session.api("GET", f"/users/{session.user}").json()["servers"].get(server, {})


def wait_until_stopped(session: HubSession, server: str, timeout: float) -> float:
    started = time.monotonic()
    while hub_view(session, server).get("ready"):
        assert time.monotonic() - started < timeout, f"{server} still runs after {timeout:g} s"
        time.sleep(2)
    return time.monotonic() - started


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1500, "height": 950})
    context.set_default_timeout(60_000)
    page = context.new_page()
    log_in(page, "alice")
    yield page
    context.close()


def job_of(node, name: str) -> str:
    return node("slurmctld").check_output(f"squeue --noheader --user=alice --name=jupyterhub-{name} --format=%i")


def test_a_slurm_server_warns_saves_the_open_notebook_and_ends_cleanly_at_its_time_limit(
    session, idle_and_busy, page: Page, node
):
    notebook = {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    path = session.open_server(
        "ending", {"kind": "slurm", "partition": "cpu", "time": "00:04:00", "cpus": "1", "memory": "1G"}
    )
    started = time.monotonic()
    job = job_of(node, "ending").strip()
    put = session.server_request(
        "PUT", path, f"/api/contents/{NOTEBOOK}", json={"type": "notebook", "content": notebook}
    )
    assert put.status_code in (200, 201), put.text
    page.goto(f"{HUB}{path}/lab/tree/{NOTEBOOK}?reset")
    expect(page.locator("#hpclab-time-left")).to_have_text(re.compile(r"^[0-3]:[0-5]\d left$"), timeout=60_000)
    expect(
        page.get_by_text(re.compile(r"^\d minutes? left \(ends .*\)\. Open documents are saved")).first
    ).to_be_visible(timeout=30_000)
    editor = page.locator(".jp-Cell .cm-content").first
    editor.click()
    page.keyboard.type(EDIT)
    expect(page.locator(".jp-mod-dirty").first).to_be_attached(timeout=10_000)
    screenshot(page, "40-time-limit-warning")
    # The Lab saves at 2 minutes left, without anyone pressing Save.
    saved = page.get_by_text(f"Saved before the time limit: {NOTEBOOK}.")
    expect(saved.first).to_be_visible(timeout=180_000)
    screenshot(page, "41-saved-before-the-limit")
    on_disk = node("hub").check_output(f"cat /home/alice/{NOTEBOOK}")
    assert "typed in the browser" in on_disk
    # Slurm's notice stops the server 40 s before the limit: a completed job, not a killed one.
    wait_until_stopped(session, "ending", timeout=240)
    print(f"4-minute server: stopped {time.monotonic() - started:.0f} s after it was ready")
    state = node("slurmctld").check_output(f"sacct --noheader --parsable2 --jobs={job} --format=State,Elapsed -X")
    assert state.startswith("COMPLETED|"), state
    log = node("hub").check_output(as_user("alice", f"cat $WORK/jupyter_spawner_logs/ending.slurm-{job}.log"))
    assert "Time limit reached" in log
    assert "Shutting down" in log
    assert "kernel" in log.lower()
    page.goto(f"{HUB}/hub/home")
    expect(page.locator(".server-end-reason", has_text="time limit reached")).to_be_visible(timeout=30_000)
    screenshot(page, "42-home-time-limit-reached")


def test_an_idle_server_is_stopped_and_an_idle_kernel_shut_down_but_a_busy_one_with_its_tab_closed_is_kept(
    session, idle_and_busy, node
):
    # Started before the 4-minute server's test: far past the idle limit by now.
    wait_until_stopped(session, "idle", timeout=IDLE_LIMIT_S + 60)
    home = session.http.get(session.url("/hub/home"), timeout=60).text
    assert "Stopped as idle: no browser, kernel, terminal, app, CPU or GPU activity for" in home
    assert hub_view(session, "busy")["ready"], "the busy server was stopped"
    state = session.server_request("GET", idle_and_busy["busy"], "/hpclab/api/session").json()
    assert "1 busy kernel" in state["idle"]["busy"]
    # Of its two kernels, the idle one was shut down, the busy one kept.
    kernels = session.server_request("GET", idle_and_busy["busy"], "/api/kernels").json()
    assert [kernel["execution_state"] for kernel in kernels] == ["busy"]
    session.stop("busy")


def test_the_idle_warnings_keep_button_keeps_the_server(session, page: Page):
    path = session.open_server("kept", {"kind": "interactive"})
    page.goto(f"{HUB}{path}/lab?reset")
    # The module's limit (120 s) is shorter than the warning's lead (10 min): it shows at once.
    keep = page.get_by_role("button", name="Keep my server")
    expect(keep).to_be_visible(timeout=60_000)
    screenshot(page, "43-idle-warning")
    page.close()
    # Nothing happens on the server for 60 s, then the user comes back and keeps it.
    time.sleep(60)
    page = page.context.new_page()
    page.goto(f"{HUB}{path}/lab?reset")
    clicked = datetime.now(UTC)
    page.get_by_role("button", name="Keep my server").click(timeout=60_000)
    expect(page.get_by_text("Kept: the idle culler counts from now.")).to_be_visible(timeout=30_000)
    page.close()
    # The hub knows at once, not at the server's next report: the culler counts from here.
    last = datetime.fromisoformat(hub_view(session, "kept")["last_activity"].replace("Z", "+00:00"))
    assert last >= clicked.replace(microsecond=0), (last, clicked)
    time.sleep(IDLE_LIMIT_S - 30)
    assert hub_view(session, "kept")["ready"], "kept, yet stopped before its limit"
    session.stop("kept")


def test_more_time_raises_the_jobs_limit_and_is_refused_past_the_qos_maxwall(session, node, page: Page):
    path = session.open_server(
        "longer", {"kind": "slurm", "partition": "cpu", "time": "00:10:00", "cpus": "1", "memory": "1G"}
    )
    answer = session.server_request("POST", path, "/hpclab/api/session/extend")
    assert answer.status_code == 200, answer.text
    assert answer.json()["seconds_left"] > 3600
    job = job_of(node, "longer").strip()
    limit = node("slurmctld").check_output(f"scontrol show job {job} --oneliner")
    assert "TimeLimit=01:10:00" in limit
    # The dev QoS allows 30 min: +1 h is refused, with the rule, and nothing changes.
    dev = session.open_server(
        "quick", {"kind": "slurm", "partition": "cpu", "qos": "dev", "time": "00:10:00", "cpus": "1", "memory": "1G"}
    )
    refused = session.server_request("POST", dev, "/hpclab/api/session/extend")
    assert refused.status_code == 409
    assert "the dev QoS's MaxWall, 00:30:00" in refused.json()["message"]
    assert "TimeLimit=00:10:00" in node("slurmctld").check_output(
        f"scontrol show job {job_of(node, 'quick').strip()} --oneliner"
    )
    page.goto(f"{HUB}{dev}/lab?reset")
    button = page.locator("#hpclab-extend button, button.hpclab-ExtendButton")
    expect(button).to_be_disabled(timeout=60_000)
    assert "dev QoS's MaxWall" in (button.get_attribute("title") or "")
    screenshot(page, "44-more-time-refused")
    session.stop("longer")
    session.stop("quick")


# ----- attacks --------------------------------------------------------------------------

CRAFTED_EXTEND = """
import json, os, ssl, urllib.error, urllib.request
request = urllib.request.Request(
    os.environ["JUPYTERHUB_API_URL"] + "/hpclab/session/extend",
    data=json.dumps({"time_limit": "30-00:00:00", "seconds": 2592000, "step_s": 2592000}).encode(),
    headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"], "Content-Type": "application/json"},
    method="POST",
)
try:
    with urllib.request.urlopen(request, context=ssl.create_default_context()) as answer:
        print(answer.status, json.load(answer)["time_limit"])
except urllib.error.HTTPError as error:
    print(error.code, json.load(error)["message"])
"""


def test_alices_own_server_token_cannot_choose_her_jobs_new_limit_or_pass_the_partitions(session, node):
    """The token is readable by its user: a request crafted with it gets one step at a
    time, whatever numbers it carries, and nothing past the visu partition's 4 h."""
    path = session.open_server(
        "crafted", {"kind": "slurm", "partition": "visu", "time": "01:00:00", "cpus": "1", "memory": "1G"}
    )
    kernel = LabKernel(session, path)
    answers = []
    for _ in range(4):
        answers.append(kernel.execute(CRAFTED_EXTEND)[0].strip())
        time.sleep(2.5)  # one try every 2 s per server
    kernel.close()
    assert answers[:3] == ["200 02:00:00", "200 03:00:00", "200 04:00:00"]
    assert answers[3].startswith("409 ")
    assert "past the visu partition's MaxTime, 04:00:00" in answers[3]
    job = job_of(node, "crafted").strip()
    assert "TimeLimit=04:00:00" in node("slurmctld").check_output(f"scontrol show job {job} --oneliner")
    session.stop("crafted")


def test_bob_cannot_extend_or_keep_alices_server_and_his_own_token_names_no_server(session, login, node):
    path = session.open_server(
        "alices", {"kind": "slurm", "partition": "cpu", "time": "00:10:00", "cpus": "1", "memory": "1G"}
    )
    bob = login("bob")
    for action in ("extend", "keep"):
        response = bob.http.post(bob.url(f"{path}/hpclab/api/session/{action}"), timeout=60)
        assert response.status_code == 403, (action, response.status_code)
    # His login's API token is no server's: the hub's session API refuses it.
    token = bob.api("POST", "/users/bob/tokens", json={"expires_in": 600}).json()["token"]
    for method, route in (("GET", "session"), ("POST", "session/extend")):
        answer = bob.http.request(
            method, bob.url(f"/hub/api/hpclab/{route}"), headers={"Authorization": f"token {token}"}, timeout=60
        )
        assert answer.status_code == 403, (route, answer.status_code, answer.text)
    assert "TimeLimit=00:10:00" in node("slurmctld").check_output(
        f"scontrol show job {job_of(node, 'alices').strip()} --oneliner"
    )
    bob.logout()


def test_another_site_cannot_make_alices_browser_extend_or_keep_her_server(session, node):
    """A form on another site posts with alice's cookies but without the server's XSRF token."""
    path = "/user/alice/alices"
    for action in ("extend", "keep"):
        response = session.http.post(
            session.url(f"{path}/hpclab/api/session/{action}"),
            headers={"Origin": "https://elsewhere.example"},
            timeout=60,
        )
        assert response.status_code == 403, (action, response.status_code)
    assert "TimeLimit=00:10:00" in node("slurmctld").check_output(
        f"scontrol show job {job_of(node, 'alices').strip()} --oneliner"
    )
    session.stop("alices")


def test_alice_renaming_her_job_cannot_pass_the_dev_qos_with_more_time(session, node):
    """scontrol prints a job's name before its fields, and users may rename their jobs:
    a name holding "QOS=x Partition=cpu TimeLimit=11:00:00" must not pass for them."""
    path = session.open_server(
        "renamed", {"kind": "slurm", "partition": "cpu", "qos": "dev", "time": "00:10:00", "cpus": "1", "memory": "1G"}
    )
    job = job_of(node, "renamed").strip()
    forged = "jupyterhub-renamed Account=x QOS=x Partition=cpu TimeLimit=11:00:00"
    node("hub").check_output(as_user("alice", f"scontrol update JobId={job} JobName={shlex.quote(forged)}"))
    answer = session.server_request("POST", path, "/hpclab/api/session/extend")
    assert answer.status_code == 409, answer.text
    assert "the dev QoS's MaxWall, 00:30:00" in answer.json()["message"]
    assert "TimeLimit=00:10:00" in node("slurmctld").check_output(f"scontrol show job {job} --oneliner")
    session.stop("renamed")


def test_a_server_job_put_back_in_the_queue_leaves_no_route_to_its_old_port(session, node):
    """A requeued job's server is gone; were the hub to keep routing to its port, bob could
    listen there and receive alice's requests and cookies."""
    session.open_server(
        "requeued", {"kind": "slurm", "partition": "cpu", "time": "00:10:00", "cpus": "1", "memory": "1G"}
    )
    job = job_of(node, "requeued").strip()
    requeue = node("hub").run(as_user("alice", f"scontrol requeue {job}"))
    if requeue.rc != 0:
        # Refused (--no-requeue): the job and its server go on where they were.
        assert "RUNNING" in node("slurmctld").check_output(f"squeue --noheader --jobs={job} --format=%T")
        assert hub_view(session, "requeued")["ready"]
    else:
        wait_until_stopped(session, "requeued", timeout=90)
        assert node("slurmctld").check_output(f"squeue --noheader --states=all --jobs={job} --format=%T").strip() in (
            "CANCELLED",
            "",
        )
    session.stop("requeued")

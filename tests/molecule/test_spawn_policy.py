"""The spawn form knows what Slurm lets each user ask for (the demo's accounting database:
alice in astro and climate, bob in bio, QoS normal and dev, bob's training reservation,
a gpu partition), and what a server waits for in the queue."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import as_user
from hubclient import HubSession
from webpages import HUB, log_in, screenshot

QUICK = {"kind": "slurm", "partition": "cpu", "time": "00:20:00", "cpus": "1", "memory": "512M"}


def form_html(session: HubSession, server: str) -> str:
    response = session.http.get(session.url(f"/hub/spawn/{session.user}/{server}"), timeout=60)
    assert response.status_code == 200, response.text[:500]
    return response.text


def select_options(html: str, name: str) -> list[str]:
    match = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.DOTALL)
    return re.findall(r'<option value="([^"]*)"', match.group(0)) if match else []


def jobs_named(node, user: str, name: str) -> list[list[str]]:
    listing = node("hub").check_output(f"squeue --noheader --user={user} --name=jupyterhub-{name} --format='%i|%T'")
    return [line.split("|") for line in listing.splitlines() if line]


def job_record(node, job_id: str) -> dict[str, str]:
    record = node("hub").check_output(f"scontrol --oneliner show job {job_id}")
    return dict(word.split("=", 1) for word in record.split() if "=" in word)


def server_job(session: HubSession, node, server: str) -> str:
    [[job_id, _]] = jobs_named(node, session.user, server)
    return job_id


@pytest.fixture(scope="module")
def bob(fresh_login) -> HubSession:
    return fresh_login("bob")


def test_alice_is_offered_her_two_accounts_and_not_bobs(alice):
    form = form_html(alice, "policy")
    assert select_options(form, "account") == ["astro", "climate"]
    assert re.search(r'<option value="astro" selected>\s*astro \(your default\)', form)
    assert select_options(form, "qos") == ["dev", "normal"]
    assert "gpu" in select_options(form, "partition")


def test_bob_sees_his_reservation_with_its_window_and_alice_does_not(alice, bob):
    form = form_html(bob, "policy")
    assert select_options(form, "account") == ["bio"]
    assert select_options(form, "reservation") == ["", "training"]
    assert re.search(r"training: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, on cn2", form)
    assert "training" not in select_options(form_html(alice, "policy"), "reservation")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"qos": "dev", "time": "01:00:00"}, "time: 01:00:00 exceeds the dev QoS's MaxWall, 00:30:00"),
        ({"account": "climate", "time": "10:00:00"}, "exceeds your MaxWall in the climate account, 08:00:00"),
        ({"account": "climate", "qos": "dev"}, "the climate account may use the QoS normal, not 'dev'"),
        ({"partition": "gpu", "gpus": "1", "gpu_type": "h100"}, "the gpu partition has no 'h100' GPUs"),
        ({"partition": "gpu", "gpus": "3", "gpu_type": "a100"}, "at most 2 a100 GPUs per node"),
    ],
)
def test_what_alices_associations_do_not_allow_is_a_400_naming_the_rule(alice, node, options, message):
    response = alice.start("refused", {**QUICK, **options})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert jobs_named(node, "alice", "refused") == []


def test_alice_cannot_charge_bobs_project(alice, node):
    response = alice.start("charged", {**QUICK, "account": "bio"})
    assert response.status_code == 400, response.text
    assert "'bio' is not one of your accounts (astro, climate)" in response.json()["message"]
    assert jobs_named(node, "alice", "charged") == []


def test_alice_cannot_slip_into_bobs_reservation(alice, node):
    for request in (
        lambda: alice.start("slip", {**QUICK, "reservation": "training"}),
        lambda: alice.submit_form("slip", {**QUICK, "reservation": "training"}),
        lambda: alice.start("slip", {"preset": "Training (reservation)"}),
    ):
        response = request()
        assert response.status_code == 400, response.text[:500]
        assert "'training' is not a reservation you may use" in html.unescape(response.text)
    assert jobs_named(node, "alice", "slip") == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"qos": "dev\n#SBATCH --uid=0"}, "qos: line breaks and control characters are not allowed"),
        ({"qos": "normal --uid=0"}, "qos: 'normal --uid=0' is not a Slurm name"),
        ({"reservation": "training,maint"}, "is not a Slurm name"),
        ({"gpu_type": "a100:8"}, "gpu_type: 'a100:8' is not a Slurm name"),
        ({"preset": {"name": "x"}}, "preset: expected a preset's name"),
        ({"preset": "Root shell"}, "preset: 'Root shell' is not one of this cluster's presets"),
    ],
)
def test_hostile_values_in_the_new_fields_are_refused_before_slurm_sees_them(alice, node, options, message):
    response = alice.start("hostile", {**QUICK, **options})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert jobs_named(node, "alice", "hostile") == []


def test_what_slurm_would_refuse_is_refused_with_slurms_reason(alice, node):
    # The dev QoS allows 8 CPUs per job, a limit the form does not model: sbatch
    # --test-only, run as alice, is the last check, and its answer is the message.
    response = alice.start("toolarge", {**QUICK, "qos": "dev", "cpus": "16"})
    assert response.status_code == 400, response.text
    assert "Slurm would refuse this job: QOSMaxCpuPerJobLimit" in response.json()["message"]
    assert jobs_named(node, "alice", "toolarge") == []


def test_a_gpu_server_gets_its_gres_and_the_top_bar_says_why_no_gpu_power(alice, node):
    path = alice.open_server("gpu", {**QUICK, "partition": "gpu", "gpus": "1", "gpu_type": "a100"})
    try:
        job_id = server_job(alice, node, "gpu")
        record = job_record(node, job_id)
        assert record["NodeList"] == "cn1"  # the A100s are cn1's
        assert record["TresPerNode"] == "gres:gpu:a100:1"
        environment = node("cn1").check_output(
            "cat /proc/$(pgrep -u alice -f 'jupyterhub-singleuser.*' | head -1)/environ | tr '\\0' '\\n'"
        )
        assert "CUDA_VISIBLE_DEVICES=0" in environment.splitlines()
        state = alice.server_request("GET", path, "/hpclab/api/power").json()
        assert state["gpu"]["reason"].startswith("NVML is not available")
    finally:
        alice.stop("gpu")


def test_bob_may_start_in_his_reservation_to_come(bob, node):
    # --test-only alone refuses a reservation that has not begun; the job is Slurm's to hold.
    response = bob.start("training", {"preset": "Training (reservation)"})
    assert response.status_code in (201, 202), response.text
    try:
        record = job_record(node, server_job(bob, node, "training"))
        assert (record["Reservation"], record["JobState"]) == ("training", "PENDING")
    finally:
        bob.stop("training")


def test_a_preset_spawns_what_it_says(alice, node):
    response = alice.start("preset", {"preset": "Quick test, 30 min"})
    assert response.status_code in (201, 202), response.text
    try:
        record = job_record(node, server_job(alice, node, "preset"))
        assert (record["QOS"], record["TimeLimit"], record["NumCPUs"], record["Account"]) == (
            "dev",
            "00:30:00",
            "2",
            "astro",
        )
        assert "mem=4G" in record["TRES"]
    finally:
        alice.stop("preset")


def test_sacct_shows_alices_jobs_with_their_account(alice, node):
    history = node("hub").check_output(
        as_user("alice", "sacct --noheader --allocations --format=JobName%40,Account,QOS")
    )
    assert re.search(r"jupyterhub-preset\s+astro\s+dev", history), history


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


def test_the_form_shows_the_bound_that_applies_and_a_preset_fills_it(alice, page):
    log_in(page, "alice")
    page.goto(f"{HUB}/hub/spawn/alice/formcheck")
    page.check("#kind-slurm")
    page.select_option("#partition", "cpu")
    page.select_option("#qos", "dev")
    expect(page.locator("#time-bound")).to_have_text("At most 00:30:00, set by the dev QoS's MaxWall.")
    page.select_option("#account", "climate")
    expect(page.locator("#qos option")).to_have_count(1)
    expect(page.locator("#time-bound")).to_have_text("At most 08:00:00, set by your MaxWall in the climate account.")
    expect(page.locator("#partition option[value='gpu']")).to_be_disabled()
    page.check("#hpclab-presets input[value='Quick test, 30 min']")
    expect(page.locator("#qos")).to_have_value("dev")
    # A preset sets what it names and puts every other field back to its default.
    page.check("#hpclab-presets input[value='1 GPU for 4 h']")
    expect(page.locator("#account")).to_have_value("astro")
    expect(page.locator("#qos")).to_have_value("normal")
    expect(page.locator("#partition")).to_have_value("gpu")
    expect(page.locator("#time")).to_have_value("04:00:00")
    expect(page.locator("#gpus")).to_have_value("1")
    # A field changed by hand makes the choice the user's own.
    page.fill("#cpus", "2")
    page.locator("#cpus").dispatch_event("change")
    expect(page.locator("#preset-none")).to_be_checked()
    expect(page.locator("#time-bound")).to_have_text("At most 12:00:00, set by the gpu partition's MaxTime.")
    expect(page.locator("#gpu_type option")).to_have_text(
        ["any type", re.compile(r"(a100|t4) \(up to 2 per node\)"), re.compile(r"(a100|t4) \(up to 2 per node\)")]
    )
    screenshot(page, "30-spawn-form-policy")


def test_a_queued_server_shows_its_expected_start_and_stop_cancels_it(alice, page, node):
    # bob fills cn2 for five minutes: alice's visu server waits behind him.
    blocker = node("hub").check_output(
        as_user("bob", "sbatch --parsable --partition=visu --exclusive --time=5 --output=/dev/null --wrap='sleep 300'")
    )
    try:
        response = alice.start("queued", {**QUICK, "partition": "visu", "memory": "1G"})
        assert response.status_code == 202, response.text
        message = alice.first_progress_message("queued", "expected start", timeout=90)
        assert re.search(
            r"is pending in the queue \(Resources\); expected start \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", message
        )
        [[job_id, state]] = jobs_named(node, "alice", "queued")
        assert state == "PENDING"
        log_in(page, "alice")
        page.goto(f"{HUB}/hub/spawn-pending/alice/queued")
        expect(page.locator("#progress-message")).to_contain_text("expected start", timeout=60_000)
        screenshot(page, "31-queued-expected-start")
        page.click("#hpclab-stop-pending")
        page.wait_for_url(re.compile(r"/hub/home"), timeout=60_000)
        deadline = time.monotonic() + 30
        while job_record(node, job_id).get("JobState") != "CANCELLED":
            assert time.monotonic() < deadline, job_record(node, job_id)
            time.sleep(0.5)
        assert not alice.servers().get("queued", {}).get("pending")
    finally:
        node("hub").run(f"scancel {blocker}")


def test_a_second_start_is_prefilled_and_the_home_page_starts_it_again_in_one_click(alice, node, page):
    fields = {**QUICK, "account": "climate", "qos": "normal", "time": "00:25:00", "cpus": "2", "memory": "1G"}
    response = alice.submit_form("again", fields)
    assert response.status_code == 302, response.text[:500]
    alice.wait_ready("again")
    alice.stop("again")
    form = form_html(alice, "again")
    assert re.search(r'<option value="climate" selected>', form)
    assert 'id="time" maxlength="16" value="00:25:00"' in form
    log_in(page, "alice")
    page.goto(f"{HUB}/hub/home")
    row = page.locator("tr[data-server-name='again']")
    expect(row.locator(".server-account")).to_have_text("climate")
    expect(row.locator(".server-qos")).to_have_text("normal")
    expect(row.locator(".server-cpus")).to_have_text("2")
    expect(row.locator(".server-memory")).to_have_text("1G")
    row.get_by_role("button", name="start again").click()
    alice.wait_ready("again")
    record = job_record(node, server_job(alice, node, "again"))
    assert (record["Account"], record["TimeLimit"], record["NumCPUs"]) == ("climate", "00:25:00", "2")
    page.goto(f"{HUB}/hub/home")
    expect(row.locator(".server-partition")).to_have_text("cpu")
    screenshot(page, "32-home-page-sessions")
    alice.stop("again")


def test_a_link_on_another_site_cannot_start_a_server_for_alice(alice, node, browser, site_linking_to):
    # A link with options in its query string: JupyterHub would spawn from them on a GET,
    # which needs no XSRF token, with the attacker's variables (PYTHONPATH to his code).
    query = "kind=slurm&partition=cpu&time=00:05:00&account=climate&environment=PYTHONPATH%3D/cluster/work/bob"
    other_site = site_linking_to(f"{HUB}/hub/spawn/alice/lured?{query}")
    # The refused starts above left named servers behind, which count against the limit.
    alice.remove_stopped_servers()
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        log_in(page, "alice")
        page.goto(other_site)
        page.click("#link")
        page.wait_for_load_state()
        screenshot(page, "33-link-from-another-site")
        expect(page.locator(".spawn-error-msg")).to_contain_text("A link cannot start a server")
        page.wait_for_timeout(2000)
        assert jobs_named(node, "alice", "lured") == []
        assert not alice.servers().get("lured", {}).get("pending")
    finally:
        context.close()
        alice.api("DELETE", "/users/alice/servers/lured", json={"remove": True})

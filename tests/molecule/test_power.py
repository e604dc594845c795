"""Power and CO2 indicators of alice's servers: on the login node, whose (fake) RAPL
counters are readable, and on cn2, which has none; through the hub's proxy and in the
browser's top bar."""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from conftest import as_user
from hubclient import LabKernel
from webpages import HUB, log_in, screenshot


def power(session, path: str) -> dict:
    return session.server_request("GET", path, "/hpclab/api/power").json()


def wait_for(session, path: str, condition, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = power(session, path)
        if condition(state) or time.monotonic() > deadline:
            return state
        time.sleep(2)


@pytest.fixture(scope="module")
def interactive(alice, node):
    # Totals and the last real-time factor of an earlier run would carry over.
    node("hub").check_output(as_user("alice", "rm -rf ~/.local/share/hpclab/power"))
    path = alice.open_server("power", {"kind": "interactive"})
    yield path
    alice.stop("power")


def test_cpu_power_of_a_busy_server_with_readable_counters(alice, interactive):
    kernel = LabKernel(alice, interactive)
    try:
        # Keep a core busy in the server's own kernel while the sampler looks.
        kernel.execute(
            "import threading\n"
            "def spin():\n"
            "    while True:\n"
            "        pass\n"
            "threading.Thread(target=spin, daemon=True).start()"
        )
        state = wait_for(alice, interactive, lambda s: (s["cpu"]["power_w"] or 0) > 1)
    finally:
        kernel.close()
    assert state["cpu"]["limit_w"] == 250.0  # two packages, 125 W long-term each
    assert 1 < state["cpu"]["power_w"] <= 250
    assert state["energy_j"] > 0
    assert state["co2_g"] > 0
    # The cluster is offline: the static factor is used, and the state says why.
    assert state["factor"]["real_time"] is False
    assert state["factor"]["last_error"]


def test_totals_survive_a_server_restart(alice, interactive):
    before = power(alice, interactive)["energy_j"]
    alice.stop("power")
    path = alice.open_server("power", {"kind": "interactive"})
    assert power(alice, path)["energy_j"] >= before > 0


@contextmanager
def alices_lab(browser, path: str) -> Iterator[Page]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1500, "height": 950})
    try:
        page = context.new_page()
        log_in(page, "alice")
        page.goto(f"{HUB}{path}/lab")
        yield page
    finally:
        context.close()


def test_top_bar_shows_cpu_power_and_co2_in_the_browser(alice, interactive, browser):
    with alices_lab(browser, interactive) as page:
        cpu = page.locator("#hpclab-power-cpu")
        expect(cpu).to_have_text(re.compile(r"CPU: [\d.]+ W / 250 W"), timeout=60_000)
        assert "RAPL" in (cpu.get_attribute("title") or "")
        expect(page.locator("#hpclab-power-co2")).to_have_text(re.compile(r"CO₂: [\d.]+ (g|kg)"))
        screenshot(page, "13-power-top-bar")


def test_a_counter_that_jumps_is_dropped_and_the_top_bar_says_so(alice, interactive, node, browser):
    """package-0 comes back 258 kJ further, as a re-created zone does: one interval of tens
    of kilowatts, which must not reach the totals."""
    before, started = power(alice, interactive)["energy_j"], time.monotonic()
    counter = "/var/lib/hpclab-demo/powercap/intel-rapl:0/energy_uj"
    # The fake's service advances the counter every second: stopped while it jumps.
    node("hub").check_output(
        "systemctl stop hpclab-demo-fake-rapl && "
        f"v=$(cat {counter}) && chmod 644 {counter} && echo $(( v + 258000000000 )) > {counter} && "
        f"chmod 444 {counter} && systemctl start hpclab-demo-fake-rapl"
    )
    state = wait_for(alice, interactive, lambda s: s["problems"], timeout=30)
    [problem] = state["problems"]
    assert re.search(r"a reading of \d+ W, more than the 250 W the CPU packages can draw, was dropped", problem)
    # At most the packages' 250 W for the time it took: not 258 kJ.
    assert state["energy_j"] - before <= 250 * (time.monotonic() - started + 10)
    with alices_lab(browser, interactive) as page:
        cpu = page.locator("#hpclab-power-cpu")
        expect(cpu).to_have_text(re.compile(r"CPU: [\d.]+ W / 250 W ⚠"), timeout=60_000)
        assert "Problems: a reading of" in (cpu.get_attribute("title") or "")
        screenshot(page, "14-power-dropped-reading")


def test_a_node_without_counters_says_why(alice):
    path = alice.open_server(
        "nopower", {"kind": "slurm", "partition": "visu", "time": "00:20:00", "cpus": "1", "memory": "1G"}
    )
    try:
        state = wait_for(alice, path, lambda s: s["cpu"]["reason"] != "measuring", timeout=30)
        assert state["cpu"]["power_w"] is None
        assert "no RAPL counters on this node" in state["cpu"]["reason"]
    finally:
        alice.stop("nopower")


@pytest.mark.parametrize("host", ["hub", "cn1", "cn2"])
def test_each_node_fetches_the_factor_once_for_all_its_servers(node, host):
    timer = node(host).service("hpclab-emission-factor.timer")
    assert timer.is_enabled
    assert timer.is_running
    node(host).check_output("systemctl start hpclab-emission-factor.service")
    journal = node(host).check_output("journalctl -u hpclab-emission-factor.service --no-pager -n 20")
    # The demo is offline: the fetch says why, and servers use the static factor.
    assert "hpclab-emission-factor: URLError" in journal


def test_servers_use_the_factor_their_node_fetched(alice, node):
    factor = {
        "grams_per_kwh": 42.0,
        "source": "RTE eco2mix via ODRÉ (real time)",
        "real_time": True,
    }
    # What the node's timer writes: a value measured 20 minutes ago, fetched now.
    script = (
        "import datetime, json, time, pathlib; "
        "path = pathlib.Path('/var/cache/hpclab-emission-factor/factor.json'); "
        "path.parent.mkdir(parents=True, exist_ok=True); "
        "measured = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)).isoformat(); "
        f"path.write_text(json.dumps({{**{factor!r}, 'measured_at': measured, 'fetched_at': time.time()}})); "
        "path.chmod(0o644)"
    )
    node("hub").check_output(f"python3 -c {shlex.quote(script)}")
    path = alice.open_server("factor", {"kind": "interactive"})
    try:
        state = wait_for(alice, path, lambda s: s["factor"]["real_time"], timeout=30)
        assert (state["factor"]["grams_per_kwh"], state["factor"]["source"]) == (42.0, factor["source"])
    finally:
        alice.stop("factor")
        node("hub").check_output("rm -f /var/cache/hpclab-emission-factor/factor.json")

"""The emission factor against a local HTTP server replaying answers shaped as the ODRÉ
records API gives them (normal, null taux_co2, 429, too slow), with a fake clock."""

import http.server
import json
import stat
import threading
import time
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from hpclab.lab.power import emission_factor
from hpclab.lab.power.emission_factor import (
    EmissionFactorSource,
    FactorUnavailable,
    Plausible,
    parse_records,
    records_query,
)
from hpclab.lab.power.sampler import Totals

NOW = time.time()


def minutes_ago(minutes: float) -> str:
    """A row's date_heure, as the API writes it."""
    return datetime.fromtimestamp(NOW - 60 * minutes, UTC).isoformat(timespec="seconds")


def answer(*rows: tuple[str, object]) -> dict:
    return {"total_count": len(rows), "results": [{"date_heure": date, "taux_co2": value} for date, value in rows]}


NORMAL = answer((minutes_ago(20), 38), (minutes_ago(50), 41))
NULL_FACTOR = answer((minutes_ago(5), None))


class Replay(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list] = []
    paths: ClassVar[list] = []

    def do_GET(self):  # http.server names it
        self.paths.append(self.path)
        status, body, delay, *headers = self.answers.pop(0)
        time.sleep(delay)
        self.send_response(status)
        for name, value in (headers[0] if headers else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Replay.answers, Replay.paths = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/records", Replay
    server.shutdown()


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def source(url, clock):
    return EmissionFactorSource(url, 56.0, "ADEME Base Empreinte, France 2023 mix", 3 * 3600, clock, timeout=1)


def test_the_newest_row_with_a_value_is_taken():
    factor = parse_records(json.dumps(NORMAL).encode(), NOW)
    assert (factor.grams_per_kwh, factor.measured_at, factor.real_time) == (38.0, minutes_ago(20), True)


@pytest.mark.parametrize(
    ("value", "why"),
    [(-5, "not a plausible value"), (100000, "not a plausible value"), (float("nan"), "not a plausible value")],
)
def test_an_implausible_value_is_refused(value, why):
    # Python's json writes and reads NaN, as a careless server would send it.
    with pytest.raises(FactorUnavailable, match=why):
        parse_records(json.dumps(answer((minutes_ago(20), value))).encode(), NOW)


def test_a_row_older_than_the_sites_limit_is_stale_not_real_time():
    three_days = json.dumps(answer((minutes_ago(3 * 24 * 60), 38))).encode()
    with pytest.raises(FactorUnavailable, match=r"72\.0 h ago: stale"):
        parse_records(three_days, NOW)
    assert parse_records(three_days, NOW, Plausible(max_age_s=4 * 24 * 3600)).grams_per_kwh == 38.0


def test_a_refused_value_keeps_the_last_good_one_and_says_since_when(api):
    url, replay = api
    clock, wall = Clock(), Clock()
    wall.now = NOW
    factors = EmissionFactorSource(url, 56.0, "static", 3 * 3600, clock, timeout=1, wall_clock=wall)
    replay.answers = [(200, NORMAL, 0), (200, answer((minutes_ago(5), float("nan"))), 0), (200, NORMAL, 0)]
    factors.refresh()
    clock.now += 1800
    wall.now += 1800
    factors.refresh()
    state = factors.state()
    assert (state["grams_per_kwh"], state["real_time"]) == (38.0, True)  # NaN never taken
    assert "not a plausible value" in state["last_error"]
    assert state["error_since"] == NOW + 1800
    clock.now += 1800
    wall.now += 1800
    factors.refresh()
    assert (factors.state()["last_error"], factors.state()["error_since"]) == ("", None)


def test_retry_after_is_honoured(api):
    url, replay = api
    clock = Clock()
    factors = source(url, clock)
    replay.answers = [(429, {"error": "Too many requests"}, 0, {"Retry-After": "120"}), (200, NORMAL, 0)]
    factors.refresh()
    assert "retry after 120 s" in factors.state()["last_error"]
    clock.now += 60
    factors.refresh()  # too early: no request
    assert len(replay.paths) == 1
    clock.now += 61
    factors.refresh()
    assert (len(replay.paths), factors.current().grams_per_kwh) == (2, 38.0)


def test_failures_keep_the_last_good_value_until_it_is_too_old(api):
    url, replay = api
    clock = Clock()
    factors = source(url, clock)
    assert factors.current().source.startswith("ADEME")  # nothing fetched yet: the static factor
    replay.answers = [
        (200, NORMAL, 0),
        (200, NULL_FACTOR, 0),
        (429, {"error": "Too many requests"}, 0),
        (200, NORMAL, 2),
    ]
    factors.refresh()
    assert factors.current().grams_per_kwh == 38.0
    assert "where=taux_co2+is+not+null" in replay.paths[0]
    clock.now += 1800
    factors.refresh()
    assert "no row with a taux_co2 value" in factors.state()["last_error"]
    clock.now += 1800
    factors.refresh()
    assert "429" in factors.state()["last_error"]
    clock.now += 1800
    factors.refresh()  # answers after the timeout
    assert "timed out" in factors.state()["last_error"]
    assert factors.current().grams_per_kwh == 38.0
    clock.now += 2 * 3600
    state = factors.state()
    assert (state["grams_per_kwh"], state["real_time"]) == (56.0, False)
    assert state["source"] == "ADEME Base Empreinte, France 2023 mix"


def test_a_zone_is_an_extra_condition_of_the_query():
    query = records_query("https://odre.example/records", "libelle_region='Bretagne'")
    assert "where=taux_co2+is+not+null+and+%28libelle_region%3D%27Bretagne%27%29" in query


def node_factors(node_file, clock, wall, fetches: list, url: str = "http://unused") -> EmissionFactorSource:
    """A server's factor source beside the node's file; its own fetches go to fetches."""
    return EmissionFactorSource(
        url,
        56.0,
        "static",
        3 * 3600,
        clock,
        fetch=lambda u, t: fetches.append(u) or b"{}",
        node_file=node_file,
        node_file_max_age=3600,
        wall_clock=wall,
    )


def test_servers_take_the_nodes_factor_and_fetch_only_without_a_recent_one(api, tmp_path):
    url, replay = api
    node_file = tmp_path / "factor.json"
    # What the node's timer does: one fetch, one file.
    replay.answers = [(200, NORMAL, 0)]
    assert emission_factor.main(["--url", url, "--output", str(node_file)]) == 0
    assert stat.S_IMODE(node_file.stat().st_mode) == 0o644
    clock, wall = Clock(), Clock()
    wall.now = json.loads(node_file.read_text())["fetched_at"] + 60
    fetches = []
    factors = node_factors(node_file, clock, wall, fetches, url)
    factors.refresh()
    assert (factors.current().grams_per_kwh, fetches) == (38.0, [])
    wall.now += 3600  # the node's file is too old: the server fetches itself
    factors.refresh()
    assert len(fetches) == 1
    # A failed fetch keeps the node's previous file.
    replay.answers = [(429, {"message": "Too many requests"}, 0)]
    assert emission_factor.main(["--url", url, "--output", str(node_file)]) == 1
    assert json.loads(node_file.read_text())["grams_per_kwh"] == 38.0


@pytest.mark.parametrize(
    "tampered",
    [
        {"grams_per_kwh": float("nan")},  # would poison every server's saved CO2 total
        {"grams_per_kwh": -5},
        {"fetched_at": NOW + 10 * 365 * 86400},  # "fresh" for ever
        {"measured_at": minutes_ago(3 * 24 * 60)},
    ],
)
def test_a_node_file_is_checked_as_a_fetched_value_is(tmp_path, tampered):
    node_file = tmp_path / "factor.json"
    good = {"grams_per_kwh": 38.0, "source": "x", "measured_at": minutes_ago(20), "real_time": True, "fetched_at": NOW}
    node_file.write_text(json.dumps({**good, **tampered}))
    clock, wall = Clock(), Clock()
    wall.now = NOW
    fetches = []
    factors = node_factors(node_file, clock, wall, fetches)
    factors.refresh()
    assert (factors.current().grams_per_kwh, factors.current().real_time) == (56.0, False)
    assert len(fetches) == 1  # the server fetched itself instead


def test_a_node_files_text_is_not_shown_as_the_source(tmp_path):
    node_file = tmp_path / "factor.json"
    spoofed = "RTE\n\nProblems: your account is suspended"
    node_file.write_text(
        json.dumps({"grams_per_kwh": 38.0, "source": spoofed, "measured_at": minutes_ago(20), "fetched_at": NOW})
    )
    wall = Clock()
    wall.now = NOW
    factors = node_factors(node_file, Clock(), wall, [])
    factors.refresh()
    assert factors.current().grams_per_kwh == 38.0
    assert factors.current().source == emission_factor.REAL_TIME_SOURCE


def test_a_nan_total_saved_earlier_starts_over(tmp_path):
    saved = tmp_path / "default.json"
    saved.write_text('{"energy_j": 10.0, "co2_g": NaN, "since": 1.0}')
    assert Totals.load(saved).co2_g == 0.0

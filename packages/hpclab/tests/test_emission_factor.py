"""The emission factor against a local HTTP server replaying answers shaped as the ODRÉ
records API gives them (normal, null taux_co2, 429, too slow), with a fake clock."""

import http.server
import json
import stat
import threading
import time
from typing import ClassVar

import pytest

from hpclab.lab.power import emission_factor
from hpclab.lab.power.emission_factor import EmissionFactorSource, parse_records, records_query

NORMAL = {
    "total_count": 2,
    "results": [
        {"date_heure": "2026-11-27T17:30:00+00:00", "taux_co2": 38},
        {"date_heure": "2026-11-27T17:00:00+00:00", "taux_co2": 41},
    ],
}
NULL_FACTOR = {"total_count": 1, "results": [{"date_heure": "2026-11-27T17:45:00+00:00", "taux_co2": None}]}


class Replay(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list] = []
    paths: ClassVar[list] = []

    def do_GET(self):  # http.server names it
        self.paths.append(self.path)
        status, body, delay = self.answers.pop(0)
        time.sleep(delay)
        self.send_response(status)
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
    factor = parse_records(json.dumps(NORMAL).encode())
    assert (factor.grams_per_kwh, factor.measured_at, factor.real_time) == (38.0, "2026-11-27T17:30:00+00:00", True)


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
    factors = EmissionFactorSource(
        url,
        56.0,
        "static",
        3 * 3600,
        clock,
        fetch=lambda u, t: fetches.append(u) or b"",
        node_file=node_file,
        node_file_max_age=3600,
        wall_clock=wall,
    )
    factors.refresh()
    assert (factors.current().grams_per_kwh, fetches) == (38.0, [])
    wall.now += 3600  # the node's file is too old: the server fetches itself
    factors.refresh()
    assert len(fetches) == 1
    # A failed fetch keeps the node's previous file.
    replay.answers = [(429, {"message": "Too many requests"}, 0)]
    assert emission_factor.main(["--url", url, "--output", str(node_file)]) == 1
    assert json.loads(node_file.read_text())["grams_per_kwh"] == 38.0

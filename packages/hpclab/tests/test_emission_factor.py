"""The emission factor against a local HTTP server replaying answers shaped as the ODRÉ
records API gives them (normal, null taux_co2, 429, too slow), with a fake clock."""

import http.server
import json
import threading
import time
from typing import ClassVar

import pytest

from hpclab.lab.power.emission_factor import EmissionFactorSource, parse_records

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

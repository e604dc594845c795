"""France's real-time carbon intensity of electricity (gCO2eq/kWh), from RTE's eco2mix
data on the ODRÉ open data portal (dataset eco2mix-national-tr, field taux_co2).

Rows come every 15 minutes and taux_co2 is filled about every 30: the latest row that
has one is taken. The last good value is kept through failures (429, timeouts, nulls);
once it is older than max_age, a static factor with its source is used instead, and the
factor says so. One fetch per node: hpclab-emission-factor, run by a timer on each node,
writes the factor to a file that every server on the node reads; a server fetches itself
only when that file is missing or old.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ODRE_RECORDS = "https://odre.opendatasoft.com/api/explore/v2.1/catalog/datasets/eco2mix-national-tr/records"
REAL_TIME_SOURCE = "RTE eco2mix via ODRÉ (real time)"


class FactorUnavailable(Exception):
    pass


@dataclass(frozen=True)
class EmissionFactor:
    grams_per_kwh: float
    source: str
    measured_at: str  # ISO time of the data, or "" for the static factor
    real_time: bool


def records_query(url: str = ODRE_RECORDS, zone_filter: str = "") -> str:
    """The newest row with a value; zone_filter is an extra ODSQL condition for a dataset
    with several zones (e.g. a region of eco2mix-regional-tr)."""
    condition = f"taux_co2 is not null and ({zone_filter})" if zone_filter else "taux_co2 is not null"
    query = {
        "select": "date_heure,taux_co2",
        "where": condition,
        "order_by": "date_heure desc",
        "limit": "1",
    }
    return f"{url}?{urllib.parse.urlencode(query)}"


def _has_factor(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and isinstance(row.get("taux_co2"), int | float)
        and not isinstance(row.get("taux_co2"), bool)
        and isinstance(row.get("date_heure"), str)
    )


def parse_records(body: bytes) -> EmissionFactor:
    """The newest taux_co2 of an answer of the records API."""
    try:
        answer = json.loads(body)
    except ValueError as error:
        raise FactorUnavailable(f"the answer is not JSON: {error}") from error
    rows = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise FactorUnavailable("the answer has no results")
    usable = [row for row in rows if _has_factor(row)]
    if not usable:
        raise FactorUnavailable("no row with a taux_co2 value")
    newest = max(usable, key=lambda row: datetime.fromisoformat(row["date_heure"]))
    return EmissionFactor(float(newest["taux_co2"]), REAL_TIME_SOURCE, newest["date_heure"], True)


def fetch_url(url: str, timeout: float) -> bytes:
    """GET through the environment's proxy (HTTPS_PROXY), as urllib does by default."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "hpclab"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def write_node_factor(factor: EmissionFactor, path: Path, fetched_at: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as stream:
        json.dump({**asdict(factor), "fetched_at": fetched_at}, stream)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def read_node_factor(path: Path) -> tuple[EmissionFactor, float] | None:
    """The node's factor and when it was fetched (wall time), or None."""
    try:
        data = json.loads(path.read_text())
        factor = EmissionFactor(float(data["grams_per_kwh"]), str(data["source"]), str(data["measured_at"]), True)
        return factor, float(data["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class EmissionFactorSource:
    def __init__(
        self,
        url: str,
        static_factor: float,
        static_source: str,
        max_age: float,
        clock: Callable[[], float],
        fetch: Callable[[str, float], bytes] = fetch_url,
        timeout: float = 10.0,
        zone_filter: str = "",
        node_file: Path | None = None,
        node_file_max_age: float = 3600.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = records_query(url, zone_filter)
        self.node_file = node_file
        self.node_file_max_age = node_file_max_age
        self.wall_clock = wall_clock
        self.static = EmissionFactor(static_factor, static_source, "", False)
        self.max_age = max_age
        self.clock = clock
        self.fetch = fetch
        self.timeout = timeout
        self.last_good: EmissionFactor | None = None
        self.last_good_at = 0.0
        self.last_error = ""

    def refresh(self) -> None:
        """Take the node's factor when it is recent, else fetch (off the event loop: the
        sampler's thread calls this)."""
        if self.node_file is not None:
            node = read_node_factor(self.node_file)
            if node is not None and self.wall_clock() - node[1] <= self.node_file_max_age:
                factor, fetched_at = node
                self.last_good, self.last_error = factor, ""
                self.last_good_at = self.clock() - (self.wall_clock() - fetched_at)
                return
        try:
            factor = parse_records(self.fetch(self.url, self.timeout))
        except FactorUnavailable as error:
            self.last_error = str(error)
        except Exception as error:  # network, HTTP status (429...), timeouts
            self.last_error = f"{type(error).__name__}: {error}"
        else:
            self.last_good, self.last_good_at, self.last_error = factor, self.clock(), ""

    def run_forever(self, refresh: float, stop: threading.Event) -> None:
        """The factor's own thread: a slow or failing fetch never delays a sample."""
        while not stop.is_set():
            self.refresh()
            stop.wait(refresh)

    def current(self) -> EmissionFactor:
        if self.last_good is not None and self.clock() - self.last_good_at <= self.max_age:
            return self.last_good
        return self.static

    def state(self) -> dict[str, Any]:
        factor = self.current()
        return {
            "grams_per_kwh": factor.grams_per_kwh,
            "source": factor.source,
            "measured_at": factor.measured_at,
            "real_time": factor.real_time,
            "last_error": self.last_error,
        }


def main(argv: Sequence[str] | None = None) -> int:
    """hpclab-emission-factor: fetch the factor once for the whole node (a timer runs it)."""
    parser = argparse.ArgumentParser(prog="hpclab-emission-factor", description=main.__doc__)
    parser.add_argument("--url", default=ODRE_RECORDS)
    parser.add_argument("--zone-filter", default="")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        factor = parse_records(fetch_url(records_query(args.url, args.zone_filter), args.timeout))
    except Exception as error:  # the previous file stays for the servers
        print(f"hpclab-emission-factor: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    write_node_factor(factor, args.output, time.time())
    print(f"hpclab-emission-factor: {factor.grams_per_kwh} gCO2eq/kWh at {factor.measured_at}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

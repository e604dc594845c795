"""France's real-time carbon intensity of electricity (gCO2eq/kWh), from RTE's eco2mix
data on the ODRÉ open data portal (dataset eco2mix-national-tr, field taux_co2).

Rows come every 15 minutes and taux_co2 is filled about every 30: the latest row that
has one is taken, if it is plausible (a finite number in the site's range for its grid)
and recent (a row older than the site's limit is stale, not real time). A 429 or 503
with Retry-After is honoured. The last good value is kept through failures (429,
timeouts, nulls, implausible or stale rows), and the state says since when they fail;
once it is older than max_age, a static factor with its source is used instead, and the
factor says so. One fetch per node: hpclab-emission-factor, run by a timer on each node,
writes the factor to a file that every server on the node reads; a server fetches itself
only when that file is missing or old.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import math
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ODRE_RECORDS = "https://odre.opendatasoft.com/api/explore/v2.1/catalog/datasets/eco2mix-national-tr/records"
REAL_TIME_SOURCE = "RTE eco2mix via ODRÉ (real time)"
# A Retry-After (or a date) further than this is not waited for.
MAX_RETRY_AFTER_S = 6 * 3600.0


class FactorUnavailable(Exception):
    pass


class RetryLater(FactorUnavailable):
    """The service asked to be left alone for a while (Retry-After)."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass(frozen=True)
class Plausible:
    """What a real-time value must be to be taken: gCO2eq/kWh within [low, high] (France's
    grid: a few to about 150; the defaults leave room for another grid's dataset) and
    measured at most max_age_s before it is read."""

    low: float = 1.0
    high: float = 1000.0
    max_age_s: float = 3 * 3600.0


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


def parse_records(body: bytes, now: float, plausible: Plausible = Plausible()) -> EmissionFactor:
    """The newest taux_co2 of an answer of the records API, checked (now: wall time)."""
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
    try:
        newest = max(usable, key=lambda row: datetime.fromisoformat(row["date_heure"]))
    except (ValueError, TypeError) as error:  # a date without its zone cannot be ordered
        raise FactorUnavailable(f"a row has an unusable date_heure: {error}") from error
    return checked_factor(float(newest["taux_co2"]), newest["date_heure"], now, plausible)


def checked_factor(value: float, measured_at: str, now: float, plausible: Plausible) -> EmissionFactor:
    """A real-time factor, if plausible and recent (now: wall time)."""
    try:
        measured = datetime.fromisoformat(measured_at).timestamp()
    except (ValueError, TypeError) as error:
        raise FactorUnavailable(f"unusable time of the value {measured_at!r}: {error}") from error
    if not math.isfinite(value) or not plausible.low <= value <= plausible.high:
        raise FactorUnavailable(
            f"taux_co2 {value} at {measured_at} is not a plausible value "
            f"({plausible.low:g} to {plausible.high:g} gCO2eq/kWh)"
        )
    if now - measured > plausible.max_age_s:
        raise FactorUnavailable(
            f"the newest taux_co2 is from {measured_at}, {(now - measured) / 3600:.1f} h ago: stale"
        )
    return EmissionFactor(value, REAL_TIME_SOURCE, measured_at, True)


def retry_after_s(value: str | None) -> float | None:
    """Retry-After in seconds (a number of seconds, or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def fetch_url(url: str, timeout: float) -> bytes:
    """GET through the environment's proxy (HTTPS_PROXY), as urllib does by default."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "hpclab"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        wait = retry_after_s(error.headers.get("Retry-After")) if error.code in (429, 503) else None
        if wait is not None:
            wait = min(wait, MAX_RETRY_AFTER_S)
            raise RetryLater(f"HTTP {error.code}, asked to retry after {wait:.0f} s", wait) from error
        raise


def write_node_factor(factor: EmissionFactor, path: Path, fetched_at: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as stream:
        json.dump({**asdict(factor), "fetched_at": fetched_at}, stream)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def read_node_factor(path: Path, now: float, plausible: Plausible) -> tuple[EmissionFactor, float] | None:
    """The node's factor and when it was fetched (wall time), or None. Checked as a fetched
    one is (its text, too, is this module's own), and never fetched in the future."""
    try:
        data = json.loads(path.read_text())
        factor = checked_factor(float(data["grams_per_kwh"]), str(data["measured_at"]), now, plausible)
        fetched_at = float(data["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError, FactorUnavailable):
        return None
    return (factor, fetched_at) if fetched_at <= now else None


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
        plausible: Plausible = Plausible(),
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
        self.error_since: float | None = None  # wall time of the first failure in a row
        self.plausible = plausible
        self.next_fetch_at = 0.0  # a Retry-After keeps fetches off until then

    def _failed(self, message: str) -> None:
        self.last_error = message
        if self.error_since is None:
            self.error_since = self.wall_clock()

    def _took(self, factor: EmissionFactor, at: float) -> None:
        self.last_good, self.last_good_at, self.last_error, self.error_since = factor, at, "", None

    def refresh(self) -> None:
        """Take the node's factor when it is recent, else fetch (off the event loop: the
        sampler's thread calls this)."""
        if self.node_file is not None:
            node = read_node_factor(self.node_file, self.wall_clock(), self.plausible)
            if node is not None and self.wall_clock() - node[1] <= self.node_file_max_age:
                factor, fetched_at = node
                self._took(factor, self.clock() - (self.wall_clock() - fetched_at))
                return
        if self.clock() < self.next_fetch_at:
            return
        try:
            factor = parse_records(self.fetch(self.url, self.timeout), self.wall_clock(), self.plausible)
        except RetryLater as error:
            self.next_fetch_at = self.clock() + error.seconds
            self._failed(str(error))
        except FactorUnavailable as error:
            self._failed(str(error))
        except Exception as error:  # network, HTTP status, timeouts
            self._failed(f"{type(error).__name__}: {error}")
        else:
            self._took(factor, self.clock())

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
            "error_since": self.error_since,
        }


def main(argv: Sequence[str] | None = None) -> int:
    """hpclab-emission-factor: fetch the factor once for the whole node (a timer runs it)."""
    parser = argparse.ArgumentParser(prog="hpclab-emission-factor", description=main.__doc__)
    parser.add_argument("--url", default=ODRE_RECORDS)
    parser.add_argument("--zone-filter", default="")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--low", type=float, default=Plausible.low, help="lowest plausible gCO2eq/kWh")
    parser.add_argument("--high", type=float, default=Plausible.high, help="highest plausible gCO2eq/kWh")
    parser.add_argument("--max-age", type=float, default=Plausible.max_age_s, help="seconds before a row is stale")
    args = parser.parse_args(argv)
    try:
        factor = parse_records(
            fetch_url(records_query(args.url, args.zone_filter), args.timeout),
            time.time(),
            Plausible(args.low, args.high, args.max_age),
        )
    except Exception as error:  # the previous file stays for the servers
        print(f"hpclab-emission-factor: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    write_node_factor(factor, args.output, time.time())
    print(f"hpclab-emission-factor: {factor.grams_per_kwh} gCO2eq/kWh at {factor.measured_at}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

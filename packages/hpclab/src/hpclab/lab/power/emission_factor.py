"""France's real-time carbon intensity of electricity (gCO2eq/kWh), from RTE's eco2mix
data on the ODRÉ open data portal (dataset eco2mix-national-tr, field taux_co2).

Rows come every 15 minutes and taux_co2 is filled about every 30: the latest row that
has one is taken. The last good value is kept through failures (429, timeouts, nulls);
once it is older than max_age, a static factor with its source is used instead, and the
factor says so.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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


def records_query(url: str = ODRE_RECORDS) -> str:
    query = {
        "select": "date_heure,taux_co2",
        "where": "taux_co2 is not null",
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
    ) -> None:
        self.url = records_query(url)
        self.static = EmissionFactor(static_factor, static_source, "", False)
        self.max_age = max_age
        self.clock = clock
        self.fetch = fetch
        self.timeout = timeout
        self.last_good: EmissionFactor | None = None
        self.last_good_at = 0.0
        self.last_error = ""

    def refresh(self) -> None:
        """Fetch now (off the event loop: the sampler's thread calls this)."""
        try:
            factor = parse_records(self.fetch(self.url, self.timeout))
        except FactorUnavailable as error:
            self.last_error = str(error)
        except Exception as error:  # network, HTTP status (429...), timeouts
            self.last_error = f"{type(error).__name__}: {error}"
        else:
            self.last_good, self.last_good_at, self.last_error = factor, self.clock(), ""

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

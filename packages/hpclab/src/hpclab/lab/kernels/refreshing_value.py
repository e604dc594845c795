"""A value refreshed in the background when it gets older than its time to live: readers
never wait for a refresh, they get the last good value. A failed refresh is retried after
at most a minute."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
RETRY_AFTER_FAILURE = 60.0


def _in_a_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="hpclab-refresh", daemon=True).start()


class RefreshingValue(Generic[T]):
    def __init__(
        self,
        load: Callable[[], T],
        initial: T,
        initial_is_fresh: bool,
        ttl: float,
        on_error: Callable[[Exception], None],
        clock: Callable[[], float] = time.monotonic,
        run_in_background: Callable[[Callable[[], None]], None] = _in_a_thread,
    ) -> None:
        self._load = load
        self._value = initial
        self._ttl = ttl
        self._on_error = on_error
        self._clock = clock
        self._run_in_background = run_in_background
        self._loaded_at: float | None = clock() if initial_is_fresh else None
        self._refreshing = False
        self._lock = threading.Lock()

    def get(self) -> T:
        """The current value; starts a background refresh when it is stale (or was never loaded)."""
        with self._lock:
            stale = self._loaded_at is None or self._clock() - self._loaded_at >= self._ttl
            start = stale and not self._refreshing
            if start:
                self._refreshing = True
        if start:
            self._run_in_background(self._refresh)
        return self._value

    def _refresh(self) -> None:
        try:
            value = self._load()
        except Exception as error:  # the last good value stays
            self._on_error(error)
            with self._lock:
                self._loaded_at = self._clock() - self._ttl + min(self._ttl, RETRY_AFTER_FAILURE)
                self._refreshing = False
            return
        with self._lock:
            self._value = value
            self._loaded_at = self._clock()
            self._refreshing = False

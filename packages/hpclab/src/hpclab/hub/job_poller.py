"""One squeue for every Slurm job of the hub's servers.

Stock batchspawner runs one squeue per server at every poll, and takes a failed or slow
one for "the job is gone". Here each SLURM spawner registers its job with the hub's one
JobPoller; a background task asks Slurm about all of them in a single call per interval
(with jitter, so that restarts and several hubs do not fall into step), and polls read
the last answer. A spawner that is starting or stopping asks for a fresh answer: such
requests share one call, and calls are at least min_gap apart.

What Slurm said is kept apart from what it could not say. A failed, timed-out or garbled
answer changes nothing and makes every job "unknown"; a job is reported ended only when
a good answer lists it in an ended state or lacks it, or Slurm says its id is invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from .commands import CommandError, CommandResult
from .slurm_jobs import (
    GarbledAnswer,
    JobState,
    describe_end,
    forgotten_job,
    parse_poll_answer,
    poll_format,
    record_mark,
)

Runner = Callable[[list[str], float], Awaitable[CommandResult]]
log = logging.getLogger(__name__)


class Presence(Enum):
    RUNNING = "running"
    PENDING = "pending"
    ENDED = "ended"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class JobReport:
    presence: Presence
    # The last state Slurm gave (kept through unknown answers).
    state: JobState | None = None
    # Why the job ended, for the user, when it did.
    ended: str = ""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class JobPoller:
    def __init__(
        self,
        squeue: str,
        run: Runner,
        *,
        # The spawner's settings (job_poll_*, job_query_timeout) say what each means.
        interval: float,
        jitter: float,
        timeout: float,
        min_gap: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._squeue = squeue
        self._run = run
        self.interval = interval
        self.jitter = jitter
        self.timeout = timeout
        self.min_gap = min_gap
        self._clock = clock
        self._watched: set[str] = set()
        self._states: dict[str, JobState] = {}
        self._ended: dict[str, str] = {}
        self._answered = False
        self._last_call = float("-inf")
        self._generation = 0
        self._wake = asyncio.Event()
        self._polled = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.calls = 0

    # ----- what spawners use ------------------------------------------------------------

    def watch(self, job_id: str) -> None:
        """Include job_id in the calls; the first job starts the loop (an answer at once
        when there is none yet, as after a hub restart)."""
        if job_id not in self._watched:
            self._ended.pop(job_id, None)
        self._watched.add(job_id)
        if not self._answered:
            self._wake.set()
        # Without an event loop yet (a state loaded outside one), fresh_report starts it.
        if (self._task is None or self._task.done()) and _running_loop() is not None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def forget(self, job_id: str) -> None:
        self._watched.discard(job_id)
        self._states.pop(job_id, None)
        self._ended.pop(job_id, None)

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watched)

    def report(self, job_id: str) -> JobReport:
        """The last answer about job_id, without asking Slurm."""
        if job_id in self._ended:
            return JobReport(Presence.ENDED, self._states.get(job_id), self._ended[job_id])
        state = self._states.get(job_id)
        if not self._answered or state is None:
            return JobReport(Presence.UNKNOWN, state)
        if state.running:
            return JobReport(Presence.RUNNING, state)
        return JobReport(Presence.PENDING, state)

    async def fresh_report(self, job_id: str) -> JobReport:
        """An answer from a call that started after this request (shared with others)."""
        self.watch(job_id)
        async with self._polled:
            wanted = self._generation + 1
            self._wake.set()
            # asyncio.timeout keeps a cancel (an interrupted start) that wait_for drops on 3.11.
            try:
                async with asyncio.timeout(self.timeout + self.min_gap + 5):
                    await self._polled.wait_for(lambda: self._generation >= wanted)
            except TimeoutError:
                log.warning("No squeue answer for job %s in time", job_id)
        return self.report(job_id)

    # ----- the loop -----------------------------------------------------------------------

    async def _loop(self) -> None:
        while self._watched:
            delay = self.interval * random.uniform(1 - self.jitter, 1 + self.jitter)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            # Requests that arrive meanwhile join this call; calls stay min_gap apart.
            await asyncio.sleep(max(0.0, self._last_call + self.min_gap - self._clock()))
            self._wake.clear()
            await self.poll_once()

    async def poll_once(self) -> None:
        jobs = sorted(self._watched, key=int)
        if jobs:
            self._last_call = self._clock()
            self.calls += 1
            self._absorb(jobs, await self._ask(jobs))
        async with self._polled:
            self._generation += 1
            self._polled.notify_all()

    async def _ask(self, jobs: Iterable[str]) -> dict[str, JobState] | None:
        """Slurm's answer by job id, or None when there is none to trust."""
        mark = record_mark()
        argv = [self._squeue, "--noheader", "--states=all", f"--jobs={','.join(jobs)}", f"--format={poll_format(mark)}"]
        try:
            result = await self._run(argv, self.timeout)
        except CommandError as error:
            log.warning("squeue gave no answer; job states are unknown until it does: %s", error)
            return None
        if result.returncode != 0:
            if forgotten_job(result.stderr):
                return {}
            log.warning("squeue failed; job states are unknown until it answers: %s", result.stderr.strip()[:300])
            return None
        try:
            return parse_poll_answer(result.stdout, mark)
        except GarbledAnswer as error:
            log.warning("squeue's answer was garbled; job states are unknown until it answers: %s", error)
            return None

    def _absorb(self, jobs: list[str], answer: dict[str, JobState] | None) -> None:
        if answer is None:
            self._answered = False
            return
        self._answered = True
        for job_id in jobs:
            if job_id not in self._watched:
                continue
            state = answer.get(job_id)
            if state is not None:
                self._states[job_id] = state
            if state is None or not (state.running or state.pending):
                self._ended[job_id] = describe_end(job_id, state)

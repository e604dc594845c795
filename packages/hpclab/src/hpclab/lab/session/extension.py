"""Server extension of the session: GET /hpclab/api/session (time left, idle state, the
'+1 h' offer), POST .../keep and .../extend, the activity checks the idle culler relies
on, and Slurm's notice that the time limit is near (SIGUSR1, hpclab.common.session).

A SLURM server's time comes from the hub (which reads every job's end in its one squeue),
reused for hub_refresh seconds and counted down in between: no Slurm call per server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Float, Integer, List
from traitlets.config import Configurable

from hpclab.common.session import IDLE_TIMEOUT_VARIABLE, NO_TIME_LIMIT, STOP_BEFORE_END_S, TIME_LIMIT_SIGNAL

from ..jupyter_server_adapter import PolledRoute
from ..power import cpu_time, gpus
from .activity import COMPUTE_ACTIVITY, KEEP_ACTIVITY, CpuUse, busy_reasons
from .hub_session import HubRefused, HubSession

NO_LIMIT = {"step_s": 0, "reason": NO_TIME_LIMIT}


class HpclabSession(Configurable):
    time_warnings = List(
        Integer(), [900, 300], config=True, help="Seconds before a SLURM server's end at which the Lab warns"
    )
    save_before_end = Integer(
        120, config=True, help="Seconds before the end at which the Lab saves every open document with changes"
    )
    idle_warning = Integer(600, config=True, help="Seconds before the idle culler stops the server that it warns")
    busy_cpu_share = Float(
        0.1, config=True, help="Cores (share of one) the server's processes must use to count as busy"
    )
    check_period = Float(30.0, config=True, help="Seconds between checks of kernels, CPU and GPUs")
    hub_refresh = Float(60.0, config=True, help="Seconds a SLURM server's session, asked of the hub, is reused")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Session:
    def __init__(self, serverapp: Any, config: HpclabSession, environment: Mapping[str, str]) -> None:
        self._app = serverapp
        self._settings = serverapp.web_app.settings
        self.config = config
        self.kind = "slurm" if environment.get("SLURM_JOB_ID") else "interactive"
        self.idle_timeout = int(environment.get(IDLE_TIMEOUT_VARIABLE, "0") or 0)
        self.hub = HubSession(environment)
        cgroup = cpu_time.own_cgroup(cpu_time.cgroup_of(os.getpid()), dict(environment))
        self._cpu = CpuUse(cpu_time.own_cpu_reader(cgroup, os.getpid()), time.monotonic)
        self._gpus_busy = gpus.job_gpu_reader(gpus.job_gpus_busy)
        self.busy: list[str] = []
        # The hub's last answer, when it came (monotonic), and why the last call failed.
        self._hub_answer: dict[str, Any] = {}
        self._hub_at = 0.0
        self._problem = ""
        self._asking = asyncio.Lock()
        self._stop_handle: Any = None

    # ----- activity ---------------------------------------------------------------------

    def check_activity(self) -> None:
        """Record computing as activity (jupyter_server's *_last_activity settings)."""
        kernels = self._app.kernel_manager
        states = [getattr(kernels.get_kernel(kernel), "execution_state", "") for kernel in kernels.list_kernel_ids()]
        try:
            gpus_busy = self._gpus_busy()
        except gpus.GpusUnavailable:
            gpus_busy = None
        self.busy = busy_reasons(states, self._cpu.cores(), self.config.busy_cpu_share, gpus_busy)
        if self.busy:
            self._settings[COMPUTE_ACTIVITY] = _utcnow()

    def idle(self) -> dict[str, Any]:
        idle_s = max(0.0, (_utcnow() - self._app.web_app.last_activity()).total_seconds())
        return {
            "timeout_s": self.idle_timeout,
            "idle_s": idle_s,
            "cull_in_s": max(0.0, self.idle_timeout - idle_s) if self.idle_timeout > 0 else None,
            "warn_before_s": self.config.idle_warning,
            "busy": self.busy,
        }

    async def keep(self) -> None:
        """The user's "keep": activity now, told to the hub at once (the culler reads the hub's)."""
        now = _utcnow()
        self._settings[KEEP_ACTIVITY] = now
        if self.hub.reachable:
            await self.hub.report_activity(now)

    # ----- time ---------------------------------------------------------------------------

    async def _hub_session(self, fresh: bool = False) -> None:
        async with self._asking:
            if not fresh and self._hub_at and time.monotonic() - self._hub_at < self.config.hub_refresh:
                return
            try:
                self._hub_answer = await self.hub.session()
                self._hub_at = time.monotonic()
                self._problem = ""
            except (TimeoutError, HubRefused, OSError) as error:
                self._problem = f"the hub did not say how much time is left: {error}"

    def _seconds_left(self) -> float | None:
        left = self._hub_answer.get("seconds_left")
        if not isinstance(left, int | float):
            return None
        return max(0.0, left - (time.monotonic() - self._hub_at))

    async def state(self) -> dict[str, Any]:
        if self.kind == "slurm" and self.hub.reachable:
            await self._hub_session()
        answer = self._hub_answer
        return {
            "kind": self.kind,
            "job_id": str(answer.get("job_id", "")),
            "seconds_left": self._seconds_left(),
            "time_limit": str(answer.get("time_limit", "")),
            "warn_at_s": sorted(self.config.time_warnings, reverse=True),
            "save_before_end_s": self.config.save_before_end,
            "extend": answer.get("extend", NO_LIMIT) if self.kind == "slurm" else NO_LIMIT,
            "idle": self.idle(),
            "problem": self._problem,
        }

    async def extend(self) -> dict[str, Any]:
        async with self._asking:
            self._hub_answer = await self.hub.extend()
            self._hub_at = time.monotonic()
            self._problem = ""
        return await self.state()

    # ----- Slurm's notice -------------------------------------------------------------------

    async def time_limit_notice(self) -> None:
        """Slurm says the limit is near: stop STOP_BEFORE_END_S before the end, after the
        Lab's save, so that kernels shut down cleanly before Slurm's kill."""
        await self._hub_session(fresh=True)
        left = self._seconds_left()
        delay = max(0.0, left - STOP_BEFORE_END_S) if left is not None else 0.0
        self._app.log.warning(
            "Time limit reached: Slurm's notice came with %s left; JupyterLab stops in %.0f s",
            f"{left:.0f} s" if left is not None else "an unknown time",
            delay,
        )
        if self._stop_handle is not None:
            IOLoop.current().remove_timeout(self._stop_handle)
        # tornado runs the coroutine the callback returns.
        self._stop_handle = IOLoop.current().call_later(delay, self._stop_if_still_ending)

    async def _stop_if_still_ending(self) -> None:
        await self._hub_session(fresh=True)
        left = self._seconds_left()
        if left is not None and left > STOP_BEFORE_END_S + 30:
            # Slurm sends its notice once: the new end is kept here.
            self._app.log.info("The job's time limit was raised (%.0f s left): JupyterLab goes on", left)
            self._stop_handle = IOLoop.current().call_later(left - STOP_BEFORE_END_S, self._stop_if_still_ending)
            return
        self._app.log.warning("Time limit reached: stopping JupyterLab and its kernels before Slurm's kill")
        # jupyter_server's own SIGTERM handling shuts kernels and terminals down cleanly.
        os.kill(os.getpid(), signal.SIGTERM)


class _SessionHandler(APIHandler):
    def initialize(self, session: Session) -> None:
        self.session = session


class SessionHandler(PolledRoute, _SessionHandler):
    @web.authenticated
    async def get(self) -> None:
        self.finish(await self.session.state())


class KeepHandler(_SessionHandler):
    @web.authenticated
    async def post(self) -> None:
        try:
            await self.session.keep()
        except (HubRefused, OSError) as error:
            raise web.HTTPError(502, f"The hub was not told: {error}") from error
        self.finish(await self.session.state())


class ExtendHandler(_SessionHandler):
    @web.authenticated
    async def post(self) -> None:
        if self.session.kind != "slurm":
            raise web.HTTPError(409, NO_LIMIT["reason"])
        try:
            self.finish(await self.session.extend())
        except HubRefused as refusal:
            raise web.HTTPError(refusal.status if 400 <= refusal.status < 500 else 502, str(refusal)) from refusal
        except OSError as error:
            raise web.HTTPError(502, f"The hub did not answer: {error}") from error


def _load_jupyter_server_extension(serverapp: Any) -> None:
    session = Session(serverapp, HpclabSession(parent=serverapp), os.environ)
    PeriodicCallback(session.check_activity, session.config.check_period * 1000).start()
    if session.kind == "slurm":

        def listen_for_notice() -> None:
            # asyncio's handler runs as a callback of the server's running loop.
            asyncio.get_running_loop().add_signal_handler(
                getattr(signal, f"SIG{TIME_LIMIT_SIGNAL}"),
                lambda: IOLoop.current().add_callback(session.time_limit_notice),
            )

        # Until then a notice is ignored rather than kill the server (USR1's default).
        signal.signal(getattr(signal, f"SIG{TIME_LIMIT_SIGNAL}"), signal.SIG_IGN)
        IOLoop.current().add_callback(listen_for_notice)
    base = url_path_join(serverapp.web_app.settings["base_url"], "hpclab/api/session")
    serverapp.web_app.add_handlers(
        ".*",
        [
            (base, SessionHandler, {"session": session}),
            (url_path_join(base, "keep"), KeepHandler, {"session": session}),
            (url_path_join(base, "extend"), ExtendHandler, {"session": session}),
        ],
    )

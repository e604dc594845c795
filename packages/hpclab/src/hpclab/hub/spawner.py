"""HpclabSpawner: the spawn form's servers, of two kinds.

The spawner checks the options (the form's or the REST API's), picks the kind they name,
Interactive (interactive_kind.py) or SLURM (slurm_kind.py), and hands it the server's
life cycle. What the kinds share stays here: the environment, the saved state, the
node's reports and token handover, the wait for a listening server and the log's name.
Hub-wide objects (partitions, job poller, orphan sweep) belong to hub_services.py.
Both kinds start hpclab-singleuser, which writes the server's log, makes the sandbox
when asked (HPCLAB_SANDBOX) and reports a start-up error, so that the spawn page says
why a server did not start.
"""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from jupyterhub.spawner import Spawner
from tornado import web
from traitlets import Bool, Dict, Float, Integer, List, Unicode, default

from hpclab.common.interactive_units import SERVER_NAME
from hpclab.common.sandbox import SANDBOX_VARIABLE
from hpclab.common.session import IDLE_TIMEOUT_VARIABLE
from hpclab.common.spawner_logs import LOG_DIR_NAME, log_file_name
from hpclab.common.user_environment import USER_ENVIRONMENT_VARIABLE, encode_user_environment

from .commands import CommandError
from .form import render_options_form
from .hub_services import ClusterSettings, HubServices, hub_services
from .idle_culling import IDLE_TIMEOUT_STATE, idle_stop_reason
from .interactive_kind import InteractiveKind
from .jupyterhub_adapter import server_label
from .node_report import NodeReport, NodeReportRefused
from .options import OptionsError, SpawnOptions, flatten_form, validate_options
from .presets import expand_preset
from .server_kind import ServerKind, SpawnFailed
from .slurm_kind import SlurmKind
from .slurm_policy import UserPolicy
from .time_extension import ExtensionRefused, ExtensionRules
from .token_handover import HandoverForbidden, HandoverRefused

# Seconds a session answer is reused, and between two tries of '+1 h', per server.
SESSION_REUSE_S = 5.0
EXTEND_GAP_S = 2.0
KIND_CLASSES: dict[str, Callable[[HpclabSpawner], ServerKind]] = {"interactive": InteractiveKind, "slurm": SlurmKind}


class HpclabSpawner(Spawner):
    jupyter_env_bin = Unicode(
        "/opt/hpclab/jupyter/bin", help="bin directory of the users' Jupyter environment (on every node)"
    ).tag(config=True)
    slurm_bin = Unicode("/usr/bin", help="Directory of sbatch, squeue, scancel, sinfo, scontrol").tag(config=True)
    sudo = List(["/usr/bin/sudo", "-n"], help="sudo, without password prompts").tag(config=True)
    interactive_helper = List(
        ["/usr/bin/sudo", "-n", "/opt/jupyterhub/venv/bin/hpclab-interactive"],
        help="Command that starts and stops Interactive servers as root",
    ).tag(config=True)
    systemctl = Unicode("/usr/bin/systemctl", help="systemctl, which reads the Interactive servers' units").tag(
        config=True
    )
    interactive_memory_bytes = Integer(5 * 1024**3, help="Memory cap of Interactive servers").tag(config=True)
    work_root = Unicode("/cluster/work", help="Parent of the users' $WORK, where server logs go").tag(config=True)
    policy_ttl = Float(
        60, help="Seconds the cluster's policy (partitions, accounts, QoS, reservations) is reused before a refresh"
    ).tag(config=True)
    presets = List(
        Dict(),
        help="Named presets shown first in the form: {name, description, options}; options as the form's fields",
    ).tag(config=True)
    job_query_timeout = Float(20, help="Seconds to wait for squeue before the state counts as unknown").tag(config=True)
    job_poll_interval = Float(30, help="Seconds between the hub's squeue calls for all its jobs").tag(config=True)
    job_poll_jitter = Float(0.2, help="Random share of the interval added or removed at each call").tag(config=True)
    startup_poll_interval = Float(
        0.5, help="Seconds between checks of a starting server (its job's state, its port)"
    ).tag(config=True)
    job_poll_min_gap = Float(
        0.5, help="Least seconds between two squeue calls, however many spawns ask for fresh states"
    ).tag(config=True)
    orphan_job_grace = Float(
        600, help="Seconds after which server jobs unknown to the hub are cancelled (0: only reported)"
    ).tag(config=True)
    orphan_job_check_delay = Float(
        60, help="Seconds after the hub starts before it looks for server jobs it does not know"
    ).tag(config=True)
    sandbox_enabled = Bool(True, help="Offer the sandbox mode (nodes need pasta and user namespaces)").tag(config=True)
    idle_timeouts = Dict(
        {"interactive": 3600, "slurm": 7200},
        help="Seconds of inactivity (no browser, busy kernel, terminal, app, CPU or GPU use) after which the "
        "idle culler stops a server, by kind (0: never); a server keeps the value it started with",
    ).tag(config=True)
    activity_interval = Integer(
        300, help="Seconds between a server's reports of its last activity to the hub (JUPYTERHUB_ACTIVITY_INTERVAL)"
    ).tag(config=True)
    extend_step = Integer(3600, help="Seconds a SLURM server's '+1 h' adds to its job's time limit").tag(config=True)
    extend_most = Integer(
        0,
        help="The most time limit a SLURM server's job may reach through '+1 h' (0: no extensions; the hub "
        "must be a Slurm operator), never past the partition's, QoS's or association's limits",
    ).tag(config=True)
    node_hub_origin = Unicode(
        "",
        help="Origin (https://host:port) through which SLURM servers call the hub's API, "
        "e.g. the proxy's TLS port when the hub listens on loopback; empty: the hub's connect URL",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services: HubServices = hub_services(self._cluster_settings())
        # The kind of the last run (None before the first), which keeps its own state.
        self.server_kind: ServerKind | None = None
        self.sandbox = False
        # Set by the node's report (node_report.py) when the server cannot start.
        self.startup_error = ""
        self.spawn_options: SpawnOptions | None = None
        self._user_environment: dict[str, str] = {}
        self._token_handed_over = False
        # The idle culler's limit for the running server (idle_culling.py reads it in the state).
        self.idle_timeout = 0
        # Why the last run was stopped when it was idle past its limit (kept through clear_state).
        self.idle_stop = ""
        # The last session answer and when (monotonic); the last try of '+1 h'.
        self._session: tuple[dict[str, Any] | None, float] = (None, 0.0)
        self._extend_tried = -EXTEND_GAP_S

    @property
    def extension_rules(self) -> ExtensionRules:
        return ExtensionRules(step_seconds=self.extend_step, most_seconds=self.extend_most)

    def _cluster_settings(self) -> ClusterSettings:
        return ClusterSettings(
            slurm_bin=self.slurm_bin,
            sudo=tuple(self.sudo),
            policy_ttl=self.policy_ttl,
            job_query_timeout=self.job_query_timeout,
            job_poll_interval=self.job_poll_interval,
            job_poll_jitter=self.job_poll_jitter,
            job_poll_min_gap=self.job_poll_min_gap,
            orphan_job_grace=self.orphan_job_grace,
            orphan_job_check_delay=self.orphan_job_check_delay,
        )

    @classmethod
    def start_hub_services(cls, config: Any) -> None:
        """Start the hub-wide services with the hub (the authenticator calls this once
        the configuration is loaded), so that the sweep of unknown server jobs runs even
        when no server is left in the hub's database."""
        cls(config=config).services.start()

    @property
    def kind(self) -> str:
        return self.server_kind.name if self.server_kind else ""

    # ----- the form ---------------------------------------------------------------------

    @default("options_form")
    def _default_options_form(self) -> Any:
        return render_options_form

    async def user_policy(self) -> UserPolicy:
        """What Slurm lets this user ask for (no Slurm call once the policy is read)."""
        account = pwd.getpwnam(self.user.name)
        groups = [grp.getgrgid(gid).gr_name for gid in os.getgrouplist(account.pw_name, account.pw_gid)]
        return (await self.services.policy()).for_user(self.user.name, groups)

    async def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, Any]:
        """Checked on submission, so that a bad value shows the form again with a 400."""
        try:
            raw = flatten_form(formdata)
        except OptionsError as error:
            raise web.HTTPError(400, str(error)) from error
        await self._checked_options(raw)
        return raw

    def options_from_query(self, query_data: dict[str, list[str]]) -> dict[str, Any]:
        """JupyterHub would start a server from a GET's query, which needs no XSRF token:
        a link on any site would start one in the victim's name with the linker's options
        (variables included). The form is shown instead, with this message."""
        raise web.HTTPError(400, "A link cannot start a server: check the options below and press Start")

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        return HpclabSpawner._apply_options

    @staticmethod
    async def _apply_options(spawner: HpclabSpawner, user_options: dict[str, Any]) -> None:
        """JupyterHub's hook for every spawn request, form or REST API: errors become 400s."""
        spawner.spawn_options = await spawner._checked_options(user_options)

    async def _checked_options(self, user_options: dict[str, Any]) -> SpawnOptions:
        if not SERVER_NAME.fullmatch(self.name):
            raise web.HTTPError(400, "Server names may use letters, digits, '.', '_' and '-' (64 at most)")
        try:
            raw = expand_preset(user_options or {}, self.presets)
            policy = await self.user_policy()
            options = validate_options(raw, policy, sandbox_enabled=self.sandbox_enabled)
            if options.kind == "slurm":
                reservation = policy.reservation(options.reservation)
                await SlurmKind(self).check_submission(options, begin=reservation.start if reservation else "")
            return options
        except OptionsError as error:
            raise web.HTTPError(400, str(error)) from error
        except CommandError as error:
            raise web.HTTPError(503, f"The cluster did not answer: {error}") from error

    # ----- environment and state ------------------------------------------------------

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        # The account's own, as batchspawner gave them: a SLURM job gets only the
        # variables listed in --export, and login profiles read these.
        account = pwd.getpwnam(self.user.name)
        env.update(USER=account.pw_name, HOME=account.pw_dir, SHELL=account.pw_shell)
        if self._user_environment:
            env[USER_ENVIRONMENT_VARIABLE] = encode_user_environment(self._user_environment)
        if self.server_kind is not None:
            env = self.server_kind.environment(env)
        if self.sandbox:
            env[SANDBOX_VARIABLE] = "1"
        env[IDLE_TIMEOUT_VARIABLE] = str(self.idle_timeout)
        env["JUPYTERHUB_ACTIVITY_INTERVAL"] = str(self.activity_interval)
        return env

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.sandbox = state.get("sandbox", False)
        self.idle_timeout = state.get(IDLE_TIMEOUT_STATE, 0)
        self.idle_stop = state.get("idle_stop", "")
        make_kind = KIND_CLASSES.get(state.get("kind", ""))
        if make_kind is not None:
            self.services.start()
            self.server_kind = make_kind(self)
            self.server_kind.load_state(state)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if self.server_kind is not None:
            state.update(self.server_kind.get_state(), kind=self.kind, sandbox=self.sandbox)
            state[IDLE_TIMEOUT_STATE] = self.idle_timeout
            state["idle_stop"] = self.idle_stop
        return {key: value for key, value in state.items() if value}

    def clear_state(self) -> None:
        super().clear_state()
        if self.server_kind is not None:
            self.server_kind.clear_state()

    # ----- life cycle -----------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        options = self.spawn_options or await self._checked_options(self.user_options)
        self.services.start()
        self.sandbox = options.sandbox
        self.startup_error = ""
        self._token_handed_over = False
        self._user_environment = options.environment
        self.idle_timeout = int(self.idle_timeouts.get(options.kind, 0))
        self.idle_stop = ""
        self.server_kind = KIND_CLASSES[options.kind](self)
        return await self.server_kind.start(options)

    async def poll(self) -> int | None:
        return await self.server_kind.poll() if self.server_kind else 0

    async def stop(self, now: bool = False) -> None:
        if self.server_kind is not None:
            self.idle_stop = idle_stop_reason(self.idle_timeout, self.orm_spawner.last_activity)
            await self.server_kind.stop(now)

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        # JupyterHub ends this iteration when the start ends, even before a kind is chosen.
        while self.server_kind is None:
            await asyncio.sleep(0.2)
        async for event in self.server_kind.progress():
            yield event

    def summary(self) -> dict[str, str]:
        """Kind, job, node and time left, and why the last job ended, for the hub home page."""
        if self.server_kind is None:
            return {}
        summary = {**self.server_kind.summary(), "sandbox": "yes" if self.sandbox else ""}
        if self.idle_stop:
            summary["end_reason"] = self.idle_stop
        return summary

    async def session_report(self) -> dict[str, Any]:
        """The running server's session, for its Lab (session_api.py); the same answer for
        SESSION_REUSE_S: a server's token cannot make the hub work without bound."""
        if self.server_kind is None or not self.ready:
            raise ExtensionRefused(f"{server_label(self)} is not running")
        reused, at = self._session
        if reused is None or time.monotonic() - at > SESSION_REUSE_S:
            reused = {"kind": self.kind, "idle_timeout_s": self.idle_timeout, **await self.server_kind.session()}
            self._session = (reused, time.monotonic())
        return reused

    async def extend_time(self) -> dict[str, Any]:
        """One more step of time for the running server (one try per EXTEND_GAP_S); its new session."""
        if self.server_kind is None or not self.ready:
            raise ExtensionRefused(f"{server_label(self)} is not running")
        if time.monotonic() - self._extend_tried < EXTEND_GAP_S:
            raise ExtensionRefused("more time was asked a moment ago: try again in a few seconds")
        self._extend_tried = time.monotonic()
        self._session = (None, 0.0)
        await self.server_kind.extend()
        return await self.session_report()

    async def cancel_user_jobs(self) -> list[str]:
        """Cancel every server job of this user, queued ones included (used at logout)."""
        return await self.services.cancel_server_jobs_of(self.user.name)

    # ----- what the node sends while the server starts ----------------------------------

    def hand_over_token(self, uid: int) -> str:
        """The server's token, for its starting job (token_handover.py), once."""
        try:
            owner = pwd.getpwnam(self.user.name).pw_uid
        except KeyError:
            owner = None
        if uid != owner:
            raise HandoverForbidden("the credential's maker does not own that server")
        kind = self.server_kind
        if self.pending != "spawn" or kind is None or not kind.reports_from_node or not self.node_hub_origin:
            raise HandoverRefused(f"{server_label(self)} is not a SLURM server that is starting")
        if self._token_handed_over:
            raise HandoverRefused(f"the token of {server_label(self)} was already handed over")
        self._token_handed_over = True
        return str(self.api_token)

    def accept_node_report(self, report: NodeReport) -> None:
        """The launcher's port or start-up error, taken only while this server starts, once."""
        if self.pending != "spawn":
            raise NodeReportRefused(f"{server_label(self)} is not starting")
        if report.startup_error is not None:
            if self.startup_error:
                raise NodeReportRefused("the start-up error is already known")
            self.startup_error = report.startup_error
            return
        if self.server_kind is None or not self.server_kind.reports_from_node:
            raise NodeReportRefused("only a SLURM server reports its port")
        if self.port:
            raise NodeReportRefused("the server's port is already known")
        self.port = report.port

    # ----- what both kinds use while starting -------------------------------------------

    def log_file(self, tag: str) -> str:
        name = log_file_name(self.name, self.kind, tag)
        return f"{self.work_root}/{self.user.name}/{LOG_DIR_NAME}/{name}"

    async def wait_until_listening(self, end_reason: Callable[[], Awaitable[str | None]]) -> None:
        """Return once the server accepts connections (its port known); if it ends first,
        fail at once with the reason, rather than after JupyterHub's http_timeout."""
        checks = 0
        while not (self.port and await _listening(self.ip, self.port)):
            checks += 1
            if self.startup_error:
                raise self.startup_failure()
            if checks % 4 == 0 and (reason := await end_reason()) is not None:
                raise SpawnFailed(reason)
            await asyncio.sleep(self.startup_poll_interval)

    def startup_failure(self) -> SpawnFailed:
        """The error the node reported, with the run's log."""
        tag = self.server_kind.log_tag if self.server_kind else ""
        return SpawnFailed(f"{self.startup_error} Log: {self.log_file(tag)}")


async def _listening(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    return True

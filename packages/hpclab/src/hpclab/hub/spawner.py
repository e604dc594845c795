"""HpclabSpawner: the spawn form's two kinds of server, Interactive and SLURM.

SLURM servers are batch jobs (batchspawner's job life cycle), submitted as the user
through sudo with a script built from validated options; the node reports the server's
port to the hub (node_report.py, which takes batchspawner's route). Interactive servers
run on the login node under a memory cap (interactive.py). Both start with
hpclab-singleuser, which writes the server's log, makes the sandbox when asked
(HPCLAB_SANDBOX) and reports a start-up error the same way, so that the spawn page says
why a server did not start.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

from batchspawner import JobStatus, SlurmSpawner
from jupyterhub.utils import random_port
from tornado import web
from traitlets import Bool, Float, Integer, List, Unicode, default

from hpclab.common.hub_api import TOKEN_HANDOVER_VARIABLE, TOKEN_VARIABLES
from hpclab.common.sandbox import SANDBOX_VARIABLE
from hpclab.common.spawner_logs import LOG_DIR_NAME, log_file_name
from hpclab.common.user_environment import USER_ENVIRONMENT_VARIABLE, encode_user_environment

from .batch_script import render_batch_script
from .cluster import PartitionCache
from .commands import CommandError, CommandResult, check_command, run_command
from .form import render_options_form
from .hub_urls import hub_urls_through
from .interactive import SERVER_NAME, InteractiveServers, unit_name
from .job_poller import JobPoller, JobReport, Presence
from .jupyterhub_adapter import default_ip, server_label
from .node_report import NodeReport, NodeReportRefused
from .options import OptionsError, SpawnOptions, flatten_form, validate_options
from .orphan_jobs import sweep_orphans
from .slurm_jobs import SERVER_JOBS_FORMAT, JobState, describe_finished_job, parse_scontrol_record, server_jobs
from .slurm_time import format_slurm_time
from .token_handover import HandoverForbidden, HandoverRefused


class SpawnFailed(web.HTTPError):
    """A server that could not start; JupyterHub shows the message on the spawn page and
    in the REST API's answer (it hides the text of other exceptions)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message.replace("%", "%%"))


class HpclabSpawner(SlurmSpawner):
    jupyter_env_bin = Unicode(
        "/opt/hpclab/jupyter/bin", help="bin directory of the users' Jupyter environment (on every node)"
    ).tag(config=True)
    slurm_bin = Unicode("/usr/bin", help="Directory of sbatch, squeue, scancel, sinfo, scontrol").tag(config=True)
    sudo = List(["/usr/bin/sudo", "-n"], help="sudo, without password prompts").tag(config=True)
    interactive_helper = List(
        ["/usr/bin/sudo", "-n", "/opt/jupyterhub/venv/bin/hpclab-interactive"],
        help="Command that starts and stops Interactive servers as root",
    ).tag(config=True)
    interactive_memory_bytes = Integer(5 * 1024**3, help="Memory cap of Interactive servers").tag(config=True)
    work_root = Unicode("/cluster/work", help="Parent of the users' $WORK, where server logs go").tag(config=True)
    partitions_ttl = Float(60, help="Seconds the partition list read from sinfo is reused").tag(config=True)
    job_query_timeout = Float(20, help="Seconds to wait for squeue before the state counts as unknown").tag(config=True)
    job_poll_interval = Float(30, help="Seconds between the hub's squeue calls for all its jobs").tag(config=True)
    job_poll_jitter = Float(0.2, help="Random share of the interval added or removed at each call").tag(config=True)
    # batchspawner's startup_poll_interval: a starting server sees its state as soon as before.
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
    node_hub_origin = Unicode(
        "",
        help="Origin (https://host:port) through which SLURM servers call the hub's API, "
        "e.g. the proxy's TLS port when the hub listens on loopback; empty: the hub's connect URL",
    ).tag(config=True)

    # One partition cache and one job poller per hub process, shared by every spawner.
    _partition_caches: ClassVar[dict[tuple[str, float], PartitionCache]] = {}
    _pollers: ClassVar[dict[str, JobPoller]] = {}
    _orphan_sweep: ClassVar[asyncio.Task[list[str]] | None] = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = ""
        self.unit = ""
        self.run_tag = ""
        self.time_limit_seconds = 0
        self.started_at = 0.0
        self.sandbox = False
        # Set by the node's report (node_report.py) when the server cannot start.
        self.startup_error = ""
        # Why the last run's job ended, shown on the home page (kept through clear_state).
        self.end_reason = ""
        self.job_state: JobState | None = None
        self.spawn_options: SpawnOptions | None = None
        self._user_environment: dict[str, str] = {}
        self._token_handed_over = False
        self._interactive = InteractiveServers(self.interactive_helper)

    # ----- the form ---------------------------------------------------------------------

    @default("options_form")
    def _default_options_form(self) -> Any:
        return render_options_form

    async def partitions(self) -> dict[str, Any]:
        key = (self.slurm_bin, self.partitions_ttl)
        cache = self._partition_caches.setdefault(key, PartitionCache([f"{self.slurm_bin}/sinfo"], self.partitions_ttl))
        return await cache.get()

    async def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, Any]:
        """Checked on submission, so that a bad value shows the form again with a 400."""
        try:
            raw = flatten_form(formdata)
        except OptionsError as error:
            raise web.HTTPError(400, str(error)) from error
        await self._checked_options(raw)
        return raw

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
            return validate_options(user_options or {}, await self.partitions(), sandbox_enabled=self.sandbox_enabled)
        except OptionsError as error:
            raise web.HTTPError(400, str(error)) from error
        except CommandError as error:
            raise web.HTTPError(503, f"The cluster did not answer: {error}") from error

    # ----- environment and state ------------------------------------------------------

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        if self._user_environment:
            env[USER_ENVIRONMENT_VARIABLE] = encode_user_environment(self._user_environment)
        if self.kind == "interactive":
            env["MEM_LIMIT"] = str(self.interactive_memory_bytes)
            env["HPCLAB_RUN_TAG"] = self.run_tag
        elif self.node_hub_origin:
            # Servers on other nodes: the hub's API through TLS, and the token fetched
            # through it (token_handover.py) rather than sent in the job's environment.
            env.update(hub_urls_through(self.node_hub_origin, env))
            for name in TOKEN_VARIABLES:
                env.pop(name, None)
            env[TOKEN_HANDOVER_VARIABLE] = str(os.getuid())
        env["HPCLAB_SERVER_KIND"] = self.kind
        if self.sandbox:
            env[SANDBOX_VARIABLE] = "1"
        return env

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.kind = state.get("kind", "")
        self.unit = state.get("unit", "")
        self.run_tag = state.get("run_tag", "")
        self.time_limit_seconds = state.get("time_limit_seconds", 0)
        self.started_at = state.get("started_at", 0.0)
        self.sandbox = state.get("sandbox", False)
        self.end_reason = state.get("end_reason", "")
        if self.job_id:
            self._poller.watch(self.job_id)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(
            kind=self.kind,
            unit=self.unit,
            run_tag=self.run_tag,
            time_limit_seconds=self.time_limit_seconds,
            started_at=self.started_at,
            sandbox=self.sandbox,
            end_reason=self.end_reason,
        )
        return {key: value for key, value in state.items() if value}

    def clear_state(self) -> None:
        if self.job_id:
            self._poller.forget(self.job_id)
        super().clear_state()
        self.unit = ""
        self.started_at = 0.0
        self.job_state = None

    # ----- life cycle -----------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        options = self.spawn_options or await self._checked_options(self.user_options)
        self.kind = options.kind
        self.sandbox = options.sandbox
        self.startup_error = ""
        self.end_reason = ""
        self._token_handed_over = False
        self._user_environment = options.environment
        if options.kind == "interactive":
            return await self._start_interactive()
        return await self._start_slurm(options)

    async def poll(self) -> int | None:
        if self.kind == "interactive":
            if not self.unit:
                return 0
            try:
                state = await self._interactive.state(self.unit)
            except CommandError as error:
                self.log.warning("Cannot read %s: %s", self.unit, error)
                return None
            if state.running:
                return None
            self.clear_state()
            return state.exit_status or 1
        return await super().poll()

    async def stop(self, now: bool = False) -> None:
        if self.kind == "interactive":
            await self._interactive.stop(self.user.name, self.name)
            return
        if not self.job_id:
            return
        job_id = self.job_id
        if self._poller.report(job_id).presence is not Presence.ENDED:
            await self.cancel_batch_job()
            # Wait a little for Slurm to confirm, with fresh answers shared by all stops.
            for _ in range(0 if now else 10):
                if (await self._poller.fresh_report(job_id)).presence in (Presence.ENDED, Presence.PENDING):
                    break
        self._poller.forget(job_id)

    def hand_over_token(self, uid: int) -> str:
        """The server's token, for its starting job (token_handover.py), once."""
        try:
            owner = pwd.getpwnam(self.user.name).pw_uid
        except KeyError:
            owner = None
        if uid != owner:
            raise HandoverForbidden("the credential's maker does not own that server")
        if self.pending != "spawn" or self.kind != "slurm" or not self.node_hub_origin:
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
        if self.kind != "slurm":
            raise NodeReportRefused("only a SLURM server reports its port")
        if self.port:
            raise NodeReportRefused("the server's port is already known")
        self.port = report.port

    # ----- Interactive ----------------------------------------------------------------

    def log_file(self, tag: str) -> str:
        kind = self.kind or "slurm"
        return f"{self.work_root}/{self.user.name}/{LOG_DIR_NAME}/{log_file_name(self.name, kind, tag)}"

    async def _start_interactive(self) -> tuple[str, int]:
        self.ip = "127.0.0.1"
        # The port JupyterHub chose for this server: it is already in the hub's database and
        # in JUPYTERHUB_SERVICE_URL, where jupyterhub-singleuser reads it.
        self.port = self.server.port if self.server else random_port()
        self.run_tag = time.strftime("%Y%m%d-%H%M%S")
        self.unit = unit_name(pwd.getpwnam(self.user.name).pw_uid, self.name)
        try:
            await self._interactive.start(self.user.name, self.name, self.get_env())
        except CommandError as error:
            raise SpawnFailed(f"The Interactive server could not be started: {error}") from error
        self.started_at = time.time()
        await self._wait_until_listening(self._interactive_end_reason)
        return self.ip, self.port

    async def _interactive_end_reason(self) -> str | None:
        state = await self._interactive.state(self.unit)
        if state.running:
            return None
        return f"JupyterLab exited (status {state.exit_status}) before it was ready. Log: {self.log_file(self.run_tag)}"

    async def _wait_until_listening(self, end_reason: Callable[[], Awaitable[str | None]]) -> None:
        """Return once the server accepts connections (its port known); if it ends first,
        fail at once with the reason, rather than after JupyterHub's http_timeout."""
        checks = 0
        while not (self.port and await self._listening(self.ip, self.port)):
            checks += 1
            if self.startup_error:
                raise self._startup_failure()
            if checks % 4 == 0 and (reason := await end_reason()) is not None:
                raise SpawnFailed(reason)
            await asyncio.sleep(self.startup_poll_interval)

    def _startup_failure(self) -> SpawnFailed:
        tag = self.run_tag if self.kind == "interactive" else self.job_id
        return SpawnFailed(f"{self.startup_error} Log: {self.log_file(tag)}")

    @staticmethod
    async def _listening(host: str, port: int) -> bool:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            return False
        writer.close()
        return True

    # ----- SLURM ----------------------------------------------------------------------

    def _as_user(self, *argv: str) -> list[str]:
        return [*self.sudo, "-u", self.user.name, *argv]

    async def _start_slurm(self, options: SpawnOptions) -> tuple[str, int]:
        self.ip = default_ip(self)
        # hpclab-singleuser reports the port it picks on the node.
        self.port = 0
        self.time_limit_seconds = options.time_seconds
        env = self.get_env()
        script = render_batch_script(
            options,
            server_name=self.name,
            home=pwd.getpwnam(self.user.name).pw_dir,
            exported_names=env,
            command=[
                f"{self.jupyter_env_bin}/hpclab-singleuser",
                "--kind=slurm",
                "--",
                f"{self.jupyter_env_bin}/jupyterhub-singleuser",
                *self.get_args(),
            ],
        )
        self.log.debug("Batch script of %s:\n%s", server_label(self), script)
        try:
            output = await check_command(
                [*self.sudo, "-E", "-u", self.user.name, f"{self.slurm_bin}/sbatch", "--parsable"],
                input_text=script,
                env=env,
                timeout=60,
            )
        except CommandError as error:
            raise SpawnFailed(f"Slurm refused the job: {error}") from error
        self.job_id = output.strip().split(";")[0]
        if not self.job_id.isdigit():
            raise SpawnFailed(f"sbatch gave no job id: {output.strip()!r}")
        self.log.info("%s submitted as Slurm job %s", server_label(self), self.job_id)

        self._poller.watch(self.job_id)
        while (status := self._job_status(await self._poller.fresh_report(self.job_id))) != JobStatus.RUNNING:
            if status == JobStatus.NOTFOUND and self.startup_error:
                raise self._startup_failure()
            if status == JobStatus.NOTFOUND:
                raise SpawnFailed(await self._why_job_ended())
            await asyncio.sleep(self.startup_poll_interval)
        self.started_at = time.time()
        self.ip = self.state_gethost()
        await self._wait_until_listening(self._job_end_reason)
        return self.ip, self.port

    async def _job_end_reason(self) -> str | None:
        if self._job_status(await self._poller.fresh_report(self.job_id)) != JobStatus.NOTFOUND:
            return None
        return await self._why_job_ended()

    async def _why_job_ended(self) -> str:
        job_id = self.job_id
        result = await run_command([f"{self.slurm_bin}/scontrol", "show", "job", "--oneliner", job_id], timeout=15)
        record = parse_scontrol_record(result.stdout) if result.returncode == 0 else {}
        self.clear_state()
        return f"{describe_finished_job(job_id, record)}. Log: {self.log_file(job_id)}"

    @property
    def _poller(self) -> JobPoller:
        """The hub's one poller (per squeue path); the first one also starts the sweep of
        server jobs the hub does not know."""
        squeue = f"{self.slurm_bin}/squeue"
        poller = self._pollers.get(squeue)
        if poller is None:
            poller = self._pollers[squeue] = JobPoller(
                squeue,
                self._run_query,
                interval=self.job_poll_interval,
                jitter=self.job_poll_jitter,
                timeout=self.job_query_timeout,
                min_gap=self.job_poll_min_gap,
            )
            self._start_orphan_sweep()
        return poller

    @staticmethod
    async def _run_query(argv: list[str], timeout: float) -> CommandResult:
        return await run_command(argv, timeout=timeout)

    def _start_orphan_sweep(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        known = self._pollers.values
        HpclabSpawner._orphan_sweep = loop.create_task(
            sweep_orphans(
                lambda: check_command(
                    [f"{self.slurm_bin}/squeue", "--noheader", f"--format={SERVER_JOBS_FORMAT}"],
                    timeout=self.job_query_timeout,
                ),
                self._cancel_as,
                lambda: frozenset().union(*(poller.watched for poller in known())),
                first_delay=self.orphan_job_check_delay,
                grace=self.orphan_job_grace,
            )
        )

    async def _cancel_as(self, user: str, job_ids: list[str]) -> None:
        await check_command([*self.sudo, "-u", user, f"{self.slurm_bin}/scancel", *job_ids], timeout=30)

    def _job_status(self, report: JobReport) -> JobStatus:
        """batchspawner's view of the poller's report; an end is remembered for the home page."""
        if report.state is not None:
            self.job_state = report.state
            self.job_status = report.state.state
        if report.presence is Presence.ENDED:
            self.end_reason = report.ended
            return JobStatus.NOTFOUND
        return {
            Presence.RUNNING: JobStatus.RUNNING,
            Presence.PENDING: JobStatus.PENDING,
            Presence.UNKNOWN: JobStatus.UNKNOWN,
        }[report.presence]

    async def query_job_status(self) -> JobStatus:
        """The last answer of the shared poller (batchspawner's poll asks this): never a
        squeue per server, and "unknown", which keeps the server, until Slurm answers."""
        if not self.job_id:
            return JobStatus.NOTFOUND
        return self._job_status(self._poller.report(self.job_id))

    def state_gethost(self) -> str:
        return self.job_state.node if self.job_state else ""

    async def cancel_batch_job(self) -> None:
        self.log.info("Cancelling Slurm job %s of %s", self.job_id, server_label(self))
        await check_command(self._as_user(f"{self.slurm_bin}/scancel", self.job_id), timeout=30)

    async def cancel_user_jobs(self) -> list[str]:
        """Cancel every server job of this user, queued ones included (used at logout)."""
        listing = await check_command(
            [f"{self.slurm_bin}/squeue", "--noheader", f"--user={self.user.name}", f"--format={SERVER_JOBS_FORMAT}"],
            timeout=30,
        )
        job_ids = sorted(server_jobs(listing), key=int)
        if job_ids:
            await check_command(self._as_user(f"{self.slurm_bin}/scancel", *job_ids), timeout=30)
        return job_ids

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        if self.kind == "interactive" or (self.user_options or {}).get("kind") == "interactive":
            yield {"message": "Starting JupyterLab on the login node"}
            return
        shown = ""
        while True:
            message = self.job_state.describe(self.job_id) if self.job_state and self.job_id else "Submitting to Slurm"
            if message != shown:
                yield {"message": message}
                shown = message
            if self.job_state and self.job_state.running:
                return
            await asyncio.sleep(1)

    # ----- the home page --------------------------------------------------------------

    def summary(self) -> dict[str, str]:
        """Kind, job, node and time left, and why the last job ended, for the hub home page."""
        if not self.kind:
            return {}
        sandbox = "yes" if self.sandbox else ""
        if self.kind == "interactive":
            return {"kind": "Interactive", "job": "", "node": socket.gethostname(), "time_left": "", "sandbox": sandbox}
        left = ""
        if self.started_at and self.time_limit_seconds:
            left = format_slurm_time(int(self.started_at + self.time_limit_seconds - time.time()))
        node = self.job_state.node if self.job_state else self.ip
        return {
            "kind": "SLURM",
            "job": self.job_id,
            "node": node,
            "time_left": left,
            "sandbox": sandbox,
            "end_reason": self.end_reason,
        }

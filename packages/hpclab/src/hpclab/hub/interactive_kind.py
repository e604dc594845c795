"""Interactive servers: JupyterLab on the login node under a memory cap, outside Slurm
(a transient systemd unit started by the root helper, interactive.py)."""

from __future__ import annotations

import pwd
import socket
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from jupyterhub.utils import random_port

from hpclab.common.interactive_units import unit_name
from hpclab.common.session import NO_TIME_LIMIT

from .commands import CommandError
from .interactive import InteractiveServers
from .options import SpawnOptions
from .server_kind import SpawnFailed
from .time_extension import ExtensionRefused

if TYPE_CHECKING:
    from .spawner import HpclabSpawner


class InteractiveKind:
    name = "interactive"
    reports_from_node = False

    def __init__(self, spawner: HpclabSpawner) -> None:
        self._spawner = spawner
        self._servers = InteractiveServers(spawner.interactive_helper, spawner.systemctl)
        self.unit = ""
        self.run_tag = ""

    @property
    def log_tag(self) -> str:
        return self.run_tag

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "MEM_LIMIT": str(self._spawner.interactive_memory_bytes), "HPCLAB_RUN_TAG": self.run_tag}

    async def start(self, options: SpawnOptions) -> tuple[str, int]:
        spawner = self._spawner
        spawner.ip = "127.0.0.1"
        # The port JupyterHub chose for this server: it is already in the hub's database and
        # in JUPYTERHUB_SERVICE_URL, where jupyterhub-singleuser reads it.
        spawner.port = spawner.server.port if spawner.server else random_port()
        self.run_tag = time.strftime("%Y%m%d-%H%M%S")
        self.unit = unit_name(pwd.getpwnam(spawner.user.name).pw_uid, spawner.name)
        try:
            await self._servers.start(spawner.user.name, spawner.name, spawner.get_env())
        except CommandError as error:
            raise SpawnFailed(f"The Interactive server could not be started: {error}") from error
        await spawner.wait_until_listening(self._end_reason)
        return spawner.ip, spawner.port

    async def _end_reason(self) -> str | None:
        state = await self._servers.state(self.unit)
        if state.running:
            return None
        log = self._spawner.log_file(self.run_tag)
        return f"JupyterLab exited (status {state.exit_status}) before it was ready. Log: {log}"

    async def poll(self) -> int | None:
        if not self.unit:
            return 0
        try:
            state = await self._servers.state(self.unit)
        except CommandError as error:
            self._spawner.log.warning("Cannot read %s: %s", self.unit, error)
            return None
        if state.running:
            return None
        self._spawner.clear_state()
        return state.exit_status or 1

    async def stop(self, now: bool) -> None:
        await self._servers.stop(self._spawner.user.name, self._spawner.name)

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        yield {"message": "Starting JupyterLab on the login node"}

    def summary(self) -> dict[str, str]:
        return {"kind": "Interactive", "job": "", "node": socket.gethostname(), "time_left": ""}

    async def session(self) -> dict[str, Any]:
        return {"job_id": "", "seconds_left": None, "time_limit": "", "extend": {"step_s": 0, "reason": NO_TIME_LIMIT}}

    async def extend(self) -> None:
        raise ExtensionRefused(NO_TIME_LIMIT)

    def load_state(self, state: dict[str, Any]) -> None:
        self.unit = state.get("unit", "")
        self.run_tag = state.get("run_tag", "")

    def get_state(self) -> dict[str, Any]:
        return {"unit": self.unit, "run_tag": self.run_tag}

    def clear_state(self) -> None:
        self.unit = ""

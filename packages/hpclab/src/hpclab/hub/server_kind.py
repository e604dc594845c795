"""What a kind of server is to the spawner: the one interface that Interactive
(interactive_kind.py) and SLURM (slurm_kind.py) servers each implement.

The spawner (spawner.py) checks the options, picks the kind they name and hands it the
server's life cycle; the kind keeps its own part of the saved state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from tornado import web

from .options import SpawnOptions


class SpawnFailed(web.HTTPError):
    """A server that could not start; JupyterHub shows the message on the spawn page and
    in the REST API's answer (it hides the text of other exceptions)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message.replace("%", "%%"))


class ServerKind(Protocol):
    # The form's value ("interactive", "slurm"), saved in the server's state.
    name: str
    # Whether the server runs on another node, from where its launcher reports its port
    # (node_report.py) and fetches its token (token_handover.py).
    reports_from_node: bool

    async def start(self, options: SpawnOptions) -> tuple[str, int]:
        """Start the server; its address once it accepts connections, or SpawnFailed."""

    async def poll(self) -> int | None:
        """None while the server runs, else an exit status (JupyterHub's poll)."""

    async def stop(self, now: bool) -> None: ...

    def progress(self) -> AsyncIterator[dict[str, Any]]:
        """Events for the spawn page while the server starts."""

    def summary(self) -> dict[str, str]:
        """The home page's columns: kind, job, node, time left, why the last run ended."""

    async def session(self) -> dict[str, Any]:
        """What the server's Lab shows of its session: job, seconds left, the extension offer."""

    async def extend(self) -> None:
        """One more step of time, or ExtensionRefused saying why not."""

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The server's environment: JupyterHub's (env) as this kind needs it."""

    @property
    def log_tag(self) -> str:
        """What names this run's log file (log_file_name in hpclab.common.spawner_logs)."""

    def load_state(self, state: dict[str, Any]) -> None: ...

    def get_state(self) -> dict[str, Any]: ...

    def clear_state(self) -> None:
        """Forget the run that ended; keep what the home page shows about it."""

"""The private parts of JupyterHub that the hub side uses, in one place."""

from __future__ import annotations

import asyncio
from typing import Any

from hpclab.common.upstream import require_version

JUPYTERHUB_VERSION = require_version("jupyterhub", ("5.",), __name__)


def server_label(spawner: Any) -> str:
    """'user:server', as JupyterHub's own log lines name a server."""
    return str(spawner._log_name)


def spawn_future(spawner: Any) -> asyncio.Future[Any] | None:
    """The task of a start in progress, which cancelling interrupts."""
    future: asyncio.Future[Any] | None = spawner._spawn_future
    return future

"""Where a server's output goes: $WORK/jupyter_spawner_logs/<server>.<kind>-<tag>.log.

The hub names the file in its error messages and the server's launcher writes it, so
both build the name here.
"""

from __future__ import annotations

import re

LOG_DIR_NAME = "jupyter_spawner_logs"
DEFAULT_SERVER_LABEL = "default"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def log_file_name(server_name: str, kind: str, tag: str) -> str:
    """File name for one run of a server, e.g. ``jupyterlab_nerf.slurm-1234.log``."""
    server = _UNSAFE.sub("_", server_name) or DEFAULT_SERVER_LABEL
    return f"{server}.{kind}-{_UNSAFE.sub('_', tag)}.log"

"""Sandbox mode: JupyterLab in a private network namespace, only its own port forwarded."""

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "hpclab.lab.sandbox.extension"}]

"""Applications behind the user's JupyterLab server (TensorBoard, MLflow, noVNC...):
their definitions, the user's launch input, the processes, and the proxy routes."""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "hpclab.lab.apps.extension"}]

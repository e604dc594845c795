"""What the home page shows of a stopped server whose spawner JupyterHub has let go (it
keeps a spawner only while the server runs or failed): the kind, the resources and why
it ended, from the state the spawner saved (hub-written)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KIND_LABELS = {"slurm": "SLURM", "interactive": "Interactive"}


def stopped_server_summary(state: Mapping[str, Any] | None) -> dict[str, str]:
    state = state or {}
    resources = state.get("resources")
    summary = {str(key): str(value) for key, value in resources.items()} if isinstance(resources, dict) else {}
    summary["kind"] = KIND_LABELS.get(str(state.get("kind", "")), "")
    summary["end_reason"] = str(state.get("idle_stop") or state.get("end_reason") or "")
    return summary

"""The spawn form: server kind, and for SLURM the partition and resources."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape

from .commands import CommandError
from .options import DEFAULT_KIND
from .slurm_time import format_slurm_time

_TEMPLATES = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
_FORM = _TEMPLATES.from_string((files("hpclab.hub") / "templates" / "spawn_form.html").read_text())


async def render_options_form(spawner: Any) -> str:
    """HTML of the form for this spawner (JupyterHub calls options_form with the spawner)."""
    try:
        partitions = sorted((await spawner.partitions()).values(), key=lambda partition: partition.name)
        error = ""
    except CommandError as failure:
        partitions, error = (
            [],
            f"The cluster's partitions could not be read ({failure}); SLURM servers are unavailable.",
        )
    previous = spawner.user_options or {}
    return _FORM.render(
        partitions=partitions,
        error=error,
        default_kind=DEFAULT_KIND,
        previous=previous,
        interactive_memory_gib=spawner.interactive_memory_bytes / 1024**3,
        sandbox_enabled=spawner.sandbox_enabled,
        format_time=lambda seconds: "no limit" if seconds is None else format_slurm_time(seconds),
    )

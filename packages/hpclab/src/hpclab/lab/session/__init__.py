"""A server's session: the time left of a SLURM server and Slurm's notice before the end,
what counts as activity for the hub's idle culler, and keeping or extending a server."""

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "hpclab.lab.session.extension"}]

"""The variable by which the hub asks a server's launcher for the sandbox.

``HPCLAB_SANDBOX=1`` in a server's environment means: start JupyterLab in its own
network namespace or not at all. The Lab reads it too, to show the sandbox banner.
"""

from __future__ import annotations

from collections.abc import Mapping

SANDBOX_VARIABLE = "HPCLAB_SANDBOX"


def sandbox_requested(environment: Mapping[str, str]) -> bool:
    return environment.get(SANDBOX_VARIABLE) == "1"

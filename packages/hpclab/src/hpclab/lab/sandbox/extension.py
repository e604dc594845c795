"""Tells the Lab page that this server is sandboxed (page config ``hpclabSandbox``), so
that the top bar shows the banner without a request of its own."""

from __future__ import annotations

import os
from typing import Any

from hpclab.common.sandbox import sandbox_requested

PAGE_CONFIG_KEY = "hpclabSandbox"


def _load_jupyter_server_extension(server_app: Any) -> None:
    # The launcher never starts a server that asked for the sandbox outside one, so the
    # request is the fact. JupyterLab fills the same dict later (setdefault on both sides).
    page_config = server_app.web_app.settings.setdefault("page_config_data", {})
    page_config[PAGE_CONFIG_KEY] = "true" if sandbox_requested(os.environ) else "false"

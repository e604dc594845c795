"""Server extension of the applications: configuration and routes.

Registered before jupyter-server-proxy's (extensions load in name order, and tornado
tries earlier handler groups first), so its /proxy/<port> routes are the ones used.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join
from traitlets import Dict, Unicode
from traitlets.config import Configurable

from hpclab.common.spawner_logs import LOG_DIR_NAME, log_file_name

from .catalogue import app_route, catalogue
from .content_policy import HEADER, policy_transform
from .handlers import (
    AppHandler,
    AppProxyHandler,
    AppsContext,
    AppsHandler,
    HostPortProxyHandler,
    OwnPortProxyHandler,
)
from .supervisor import Supervisor


class HpclabApps(Configurable):
    apps = Dict(config=True, help="Applications by name (see hpclab.lab.apps.catalogue)")
    log_dir = Unicode("", config=True, help="Where apps' output goes (default: $WORK/jupyter_spawner_logs)")


def _log_dir(configured: str) -> Path:
    if configured:
        return Path(configured)
    return Path(os.environ.get("WORK") or os.environ.get("HOME") or tempfile.gettempdir()) / LOG_DIR_NAME


def _stop_on_exit(supervisor: Supervisor) -> None:
    """The apps run in their own sessions: end them with the server."""
    for instance in supervisor.running():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(instance.process.pid, signal.SIGTERM)


def _load_jupyter_server_extension(serverapp: Any) -> None:
    config = HpclabApps(parent=serverapp)
    base_url = serverapp.web_app.settings["base_url"]
    server_name = os.environ.get("JUPYTERHUB_SERVER_NAME", "")
    runtime_dir = Path(tempfile.mkdtemp(prefix="hpclab-apps-"))
    # atexit runs last what it got first: the directory goes once the apps are told to end.
    atexit.register(shutil.rmtree, runtime_dir, ignore_errors=True)
    supervisor = Supervisor(
        runtime_dir=runtime_dir,
        log_dir=_log_dir(config.log_dir),
        log_name=lambda app, endpoint: log_file_name(server_name, f"app-{app}", str(endpoint)),
        url_prefix=lambda app, endpoint: url_path_join(base_url, app_route(app, endpoint)),
        root_dir=str(serverapp.root_dir),
        server_environment=os.environ,
    )
    atexit.register(_stop_on_exit, supervisor)
    apps = catalogue(config.apps)
    context = {"context": AppsContext(apps, supervisor)}

    def route(pattern: str) -> str:
        return url_path_join(base_url, pattern)

    # The configured names only, so that /files/1/... stays the server's own.
    names = "|".join(map(re.escape, apps))
    app_proxy = [(route(rf"/({names})/(\d)(/.*|)"), AppProxyHandler, context)] if apps else []
    serverapp.web_app.add_handlers(
        ".*",
        [
            (route(r"/hpclab/api/apps"), AppsHandler, context),
            (route(r"/hpclab/api/apps/([a-z][a-z0-9_-]*)/(\d)"), AppHandler, context),
            *app_proxy,
            (route(r"/proxy/(\d+)(/.*|)"), OwnPortProxyHandler, {"absolute_url": False}),
            (route(r"/proxy/absolute/(\d+)(/.*|)"), OwnPortProxyHandler, {"absolute_url": True}),
            (route(r"/proxy/([^/:@]+):(\d+)(/.*|)"), HostPortProxyHandler, {"absolute_url": False}),
            (route(r"/proxy/absolute/([^/:@]+):(\d+)(/.*|)"), HostPortProxyHandler, {"absolute_url": True}),
        ],
    )
    policy = serverapp.web_app.settings.get("headers", {}).get(HEADER)
    if policy:
        framed = [route("/voila/render/"), route("/proxy/"), *(route(f"/{name}/") for name in apps)]
        serverapp.web_app.add_transform(policy_transform(policy, framed))
    serverapp.log.info("hpclab apps: %s", ", ".join(apps) or "none configured")

"""The private part of jupyter_server that the Lab's routes use, in one place."""

from __future__ import annotations

from jupyter_server.base.handlers import APIHandler

from hpclab.lab.upstreams import require

JUPYTER_SERVER_VERSION = require("jupyter-server", __name__)


class PolledRoute(APIHandler):
    """A route the Lab's page polls on its own (the top bar, the apps' list): jupyter_server
    counts every API request as the user's activity, which would keep an open tab's server
    from ever being idle for the hub's culler."""

    @property
    def _track_activity(self) -> bool:
        return False

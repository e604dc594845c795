"""The hub's answers to a running server about its session, from that server's own token:
GET the time left, the idle limit and whether '+1 h' is offered; POST one more step.

The token is readable by its user, so the request carries no numbers: the handler finds
the server the token belongs to, and the kind checks the wish against Slurm and the
site's rules (time_extension.py).
"""

from __future__ import annotations

from typing import Any

from jupyterhub.apihandlers import APIHandler
from tornado import web

from hpclab.common.session import EXTEND_PATH, SESSION_PATH

from .node_report import token_owner
from .time_extension import ExtensionRefused

SESSION_ROUTE = f"/api{SESSION_PATH}"
EXTEND_ROUTE = f"/api{EXTEND_PATH}"


class _ServerSessionHandler(APIHandler):
    def own_server(self) -> Any:
        spawner = token_owner(self.current_user, self.get_auth_token())
        if spawner is None:
            raise web.HTTPError(403, "only a server's own token may ask about its session")
        return spawner


class SessionHandler(_ServerSessionHandler):
    @web.authenticated
    async def get(self) -> None:
        try:
            self.finish(await self.own_server().session_report())
        except ExtensionRefused as refusal:
            raise web.HTTPError(409, str(refusal)) from refusal


class ExtendHandler(_ServerSessionHandler):
    @web.authenticated
    async def post(self) -> None:
        try:
            self.finish(await self.own_server().extend_time())
        except ExtensionRefused as refusal:
            raise web.HTTPError(409, str(refusal)) from refusal

"""The hub's answers to a running server about its session, from that server's own token:
GET the time left, the idle limit and whether '+1 h' is offered; POST one more step.

The token is readable by its user, so the request carries no numbers: the handler finds
the server the token belongs to, and the kind checks the wish against Slurm and the
site's rules (time_extension.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from jupyterhub.apihandlers import APIHandler
from tornado import web

from hpclab.common.session import EXTEND_PATH, SESSION_PATH

from .node_report import token_owner
from .time_extension import ExtensionRefused

SESSION_ROUTE = f"/api{SESSION_PATH}"
EXTEND_ROUTE = f"/api{EXTEND_PATH}"


class _ServerSessionHandler(APIHandler):
    async def answer_for_own_server(self, ask: Callable[[Any], Awaitable[dict[str, Any]]]) -> None:
        spawner = token_owner(self.current_user, self.get_auth_token())
        if spawner is None:
            raise web.HTTPError(403, "only a server's own token may ask about its session")
        try:
            self.finish(await ask(spawner))
        except ExtensionRefused as refusal:
            raise web.HTTPError(409, str(refusal)) from refusal


class SessionHandler(_ServerSessionHandler):
    @web.authenticated
    async def get(self) -> None:
        await self.answer_for_own_server(lambda spawner: spawner.session_report())


class ExtendHandler(_ServerSessionHandler):
    @web.authenticated
    async def post(self) -> None:
        await self.answer_for_own_server(lambda spawner: spawner.extend_time())

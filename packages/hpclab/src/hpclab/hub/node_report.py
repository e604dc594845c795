"""The node's report to the hub: a starting server's port, or why it cannot start.

The route is batchspawner's (``POST /hub/api/batchspawner``, which hpclab-singleuser
calls with the server's own token), but batchspawner's handler sets any attribute of
the spawner named in the body (sudo, slurm_bin, ip, user, ...), and the server's token
is readable by its user. This handler takes the route first and accepts only the two
fields the launcher sends, each checked, from the token of the very server it concerns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from jupyterhub.apihandlers import APIHandler
from tornado import web

ROUTE = "/api/batchspawner"
MAX_STARTUP_ERROR = 1000


class NodeReportError(ValueError):
    """A report that is not what a launcher sends; the message says why (a 400)."""


class NodeReportRefused(Exception):
    """A well-formed report the server's state does not allow now (a 409)."""


@dataclass(frozen=True)
class NodeReport:
    port: int | None = None
    startup_error: str | None = None


class ReportReceiver(Protocol):
    def accept_node_report(self, report: NodeReport) -> None: ...


def parse_node_report(body: bytes) -> NodeReport:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise NodeReportError(f"the report is not JSON: {error}") from error
    if not isinstance(data, dict) or not data:
        raise NodeReportError("the report must be an object with port or startup_error")
    unknown = sorted(set(data) - {"port", "startup_error"})
    if unknown:
        raise NodeReportError(f"a node reports only port and startup_error, not {', '.join(map(str, unknown))}")
    if len(data) != 1:
        raise NodeReportError("a report carries either port or startup_error")
    if "port" in data:
        port = data["port"]
        # bool is an int in Python; a port is not.
        if type(port) is not int or not 1 <= port <= 65535:
            raise NodeReportError(f"port must be an integer from 1 to 65535, not {json.dumps(port)[:40]}")
        return NodeReport(port=port)
    message = data["startup_error"]
    if not isinstance(message, str) or not message.strip():
        raise NodeReportError("startup_error must be a non-empty string")
    if len(message) > MAX_STARTUP_ERROR:
        raise NodeReportError(f"startup_error is longer than {MAX_STARTUP_ERROR} characters")
    return NodeReport(startup_error=message)


def token_owner(user: Any, token: str | None) -> Any:
    """The hpclab spawner whose own API token this is, if any (a user's token or a
    service's has none): what a server may do with it concerns that server only."""
    if not token:
        return None
    for spawner in getattr(user, "spawners", {}).values():
        if spawner.api_token and spawner.api_token == token and hasattr(spawner, "accept_node_report"):
            return spawner
    return None


class NodeReportHandler(APIHandler):
    @web.authenticated
    def post(self) -> None:
        spawner: ReportReceiver | None = token_owner(self.current_user, self.get_auth_token())
        if spawner is None:
            raise web.HTTPError(403, "only a server's own token may report for it")
        try:
            spawner.accept_node_report(parse_node_report(self.request.body))
        except NodeReportError as error:
            raise web.HTTPError(400, str(error)) from error
        except NodeReportRefused as error:
            raise web.HTTPError(409, str(error)) from error
        self.set_status(201)
        self.finish({"message": "report received"})

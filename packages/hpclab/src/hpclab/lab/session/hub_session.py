"""A server's calls to the hub about its own session, with its own token: the session
(time left, idle limit, the '+1 h' offer), one more step of time, and its last activity
at once (the "keep" button; jupyterhub-singleuser reports it only every interval)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from hpclab.common.session import EXTEND_PATH, SESSION_PATH

from ..hub_report import hub_tls_context

TIMEOUT_S = 20.0


class HubRefused(Exception):
    """The hub's answer to a request it refused (its status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HubSession:
    def __init__(self, environment: Mapping[str, str]) -> None:
        self._api_url = environment.get("JUPYTERHUB_API_URL", "").rstrip("/")
        self._activity_url = environment.get("JUPYTERHUB_ACTIVITY_URL", "")
        self._token = environment.get("JUPYTERHUB_API_TOKEN", "")
        self._server_name = environment.get("JUPYTERHUB_SERVER_NAME", "")
        self._tls = hub_tls_context(environment)

    @property
    def reachable(self) -> bool:
        return bool(self._api_url and self._token)

    async def _call(self, url: str, method: str, body: Any = None) -> Any:
        request = HTTPRequest(
            url,
            method=method,
            headers={"Authorization": f"token {self._token}", "Content-Type": "application/json"},
            body=None if body is None else json.dumps(body),
            request_timeout=TIMEOUT_S,
            ssl_options=self._tls,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as error:
            raise HubRefused(error.code, _message(error)) from error
        return json.loads(response.body or b"null")

    async def session(self) -> dict[str, Any]:
        return await self._call(self._api_url + SESSION_PATH, "GET")

    async def extend(self) -> dict[str, Any]:
        return await self._call(self._api_url + EXTEND_PATH, "POST", {})

    async def report_activity(self, when: datetime) -> None:
        stamp = when.isoformat().replace("+00:00", "Z")
        body = {"servers": {self._server_name: {"last_activity": stamp}}, "last_activity": stamp}
        await self._call(self._activity_url, "POST", body)


def _message(error: HTTPClientError) -> str:
    try:
        return str(json.loads(error.response.body)["message"]) if error.response else str(error)
    except (ValueError, KeyError, TypeError):
        return str(error)

"""A real jupyter_server ServerApp with server extensions loaded, served in-process on a
loopback port from a thread of its own, for tests that speak plain HTTP to it.

What pytest-jupyter's jp_serverapp does, without the plugin: initialize the app with the
given configuration (no configuration files of this machine: JUPYTER_NO_CONFIG), bind a
tornado HTTPServer to 127.0.0.1:0, then run the event loop in a thread. The extensions'
own code (handlers, subprocesses) runs in that loop; tests call fetch() from theirs.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import logging
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_server.serverapp import ServerApp
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from traitlets.config import Config

START_TIMEOUT = 30.0


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class LabServer:
    """`with LabServer(config, tmp) as server:` a started server; fetch() talks to it."""

    def __init__(self, config: Mapping[str, Any], directory: Path, base_url: str = "/user/alice/") -> None:
        self.config = Config(config)
        self.directory = directory
        self.base_url = base_url
        self.token = secrets.token_hex(8)
        self.log = io.StringIO()
        self.app: ServerApp | None = None
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http_server: HTTPServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> LabServer:
        self._thread = threading.Thread(target=self._serve, name="lab-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the server did not start within {START_TIMEOUT} s:\n{self.log.getvalue()}")
        if self._error is not None:
            raise RuntimeError(f"the server did not start:\n{self.log.getvalue()}") from self._error
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.call(self._cleanup())
        assert self._loop is not None
        assert self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)
        ServerApp.clear_instance()

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start())
        except BaseException as error:  # reported to the starting thread
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _start(self) -> None:
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.config.IdentityProvider.token = self.token
        ServerApp.clear_instance()
        app = self.app = ServerApp.instance(
            config=self.config,
            ip="127.0.0.1",
            port=self.port,
            port_retries=0,
            open_browser=False,
            base_url=self.base_url,
            root_dir=str(self.directory),
            allow_root=True,
            log_level="INFO",
            reraise_server_extension_failures=True,
        )
        app.init_signal = lambda: None  # type: ignore[method-assign]  # not the main thread
        handler = logging.StreamHandler(self.log)
        app.log.handlers = [handler]
        app.log.propagate = False
        app.initialize(argv=[], find_extensions=False, new_httpserver=False)
        app.log.handlers = [handler]
        app.log.propagate = False
        self._http_server = HTTPServer(app.web_app)
        self._http_server.add_sockets(sockets)
        app.start_app()

    async def _cleanup(self) -> None:
        if self._http_server is not None:
            self._http_server.stop()
        if self.app is not None:
            await self.app._cleanup()

    def call(self, coroutine: Any, timeout: float = START_TIMEOUT) -> Any:
        """Run a coroutine in the server's event loop (where its extensions live)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def fetch(
        self,
        path: str,
        method: str = "GET",
        body: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        timeout: float = 20.0,
    ) -> Response:
        """One request to base_url + path, redirects not followed."""
        sent = dict(headers or {})
        if authenticated:
            sent.setdefault("Authorization", f"token {self.token}")
        if isinstance(body, Mapping):
            body = json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, self.url(path), body=body, headers=sent)
            answer = connection.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()

    def handler_kwargs(self) -> Iterator[dict[str, Any]]:
        """The keyword arguments of every route of the web application (to reach what an
        extension gave its handlers, such as the apps' supervisor)."""
        assert self.app is not None
        pending = [self.app.web_app.default_router]
        while pending:
            router = pending.pop()
            for rule in getattr(router, "rules", []):
                if hasattr(rule.target, "rules"):
                    pending.append(rule.target)
                elif rule.target_kwargs:
                    yield rule.target_kwargs

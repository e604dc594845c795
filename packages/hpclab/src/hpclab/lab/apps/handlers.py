"""HTTP side of the applications: the launch API, the proxy to each running app, its
error page, and a /proxy/<port> that only reaches the user's own ports."""

from __future__ import annotations

import html
import os
import socket
from typing import Any

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server_proxy.handlers import LocalProxyHandler
from tornado import web

from ..jupyter_server_adapter import PolledRoute
from .catalogue import AppDefinition, app_route
from .launch_input import LaunchInputError, parse_launch_input
from .own_ports import PROXY_ADDRESS, Listener, who_listens
from .server_proxy_adapter import StreamingDownloads
from .supervisor import AppStartError, Supervisor

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", socket.gethostname()})


class AppsContext:
    def __init__(self, apps: dict[str, AppDefinition], supervisor: Supervisor) -> None:
        self.apps = apps
        self.supervisor = supervisor

    def app(self, name: str, endpoint: str) -> tuple[AppDefinition, int]:
        app = self.apps.get(name)
        if app is None:
            raise web.HTTPError(404, f"no application {name!r}")
        number = int(endpoint)
        if not 0 <= number < app.endpoints:
            raise web.HTTPError(404, f"{app.title} has endpoints 0 to {app.endpoints - 1}")
        return app, number


class AppsHandler(PolledRoute):
    def initialize(self, context: AppsContext) -> None:
        self.context = context

    @web.authenticated
    def get(self) -> None:
        supervisor = self.context.supervisor
        self.finish(
            {
                "apps": [app.public() for app in self.context.apps.values()],
                "running": [instance.public() for instance in supervisor.running()],
            }
        )


class AppHandler(APIHandler):
    def initialize(self, context: AppsContext) -> None:
        self.context = context

    @web.authenticated
    async def post(self, name: str, endpoint: str) -> None:
        app, number = self.context.app(name, endpoint)
        body = self.get_json_body() or {}
        try:
            launch = parse_launch_input(
                body.get("arguments", ""), body.get("environment", ""), os.environ, app.required
            )
        except LaunchInputError as error:
            self.set_status(400)
            self.finish({"message": f"{app.title}: {error}"})
            return
        try:
            instance = await self.context.supervisor.start(app, number, launch)
        except AppStartError as error:
            self.set_status(502)
            self.finish({"message": error.message, "log_tail": error.log_tail, "log": error.log_path})
            return
        url = f"{self.base_url}{app_route(app.name, number)}/"
        open_path = app.open_path.format(path=url.strip("/"), secret=instance.secret)
        self.finish({"url": url + open_path, **instance.public()})

    @web.authenticated
    async def delete(self, name: str, endpoint: str) -> None:
        app, number = self.context.app(name, endpoint)
        if not await self.context.supervisor.stop(app.name, number):
            raise web.HTTPError(404, f"{app.title} is not running on endpoint {number}")
        self.set_status(204)
        self.finish()


def error_page(title: str, message: str, tail: str, log: str) -> str:
    log_line = f"<p>Full output: <code>{html.escape(log)}</code></p>" if log else ""
    tail_block = f"<h2>Last lines of its output</h2><pre>{html.escape(tail)}</pre>" if tail else ""
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{tail_block}{log_line}</body></html>"
    )


class AppProxyHandler(StreamingDownloads):
    """/<name>/<endpoint>/...: the running app, or why it is not running."""

    def initialize(self, context: AppsContext) -> None:
        self.context = context

    def _target(self, name: str, endpoint: str) -> tuple[str, int]:
        app, number = self.context.app(name, endpoint)
        instance = self.context.supervisor.instance(app.name, number)
        if instance is None:
            failure = self.context.supervisor.failures.get((app.name, number))
            if failure is not None:
                self.set_status(502)
                page = error_page(f"{app.title} could not start", failure.message, failure.log_tail, failure.log_path)
            else:
                self.set_status(404)
                page = error_page(
                    f"{app.title} is not running",
                    f"Launch {app.title} (endpoint {number}) from the JupyterLab launcher.",
                    "",
                    "",
                )
            self.finish(page)
            raise web.Finish()
        self.proxy_base = app_route(app.name, number)
        self.absolute_url = app.absolute_url
        self.unix_socket = instance.socket_path or None
        # jupyter-server-proxy reaches a Unix socket only under the name "localhost".
        return ("localhost" if self.unix_socket else str(PROXY_ADDRESS)), instance.port or 80

    async def http_get(self, name: str, endpoint: str, path: str) -> Any:
        return await self.proxy(*self._target(name, endpoint), path)

    async def open(self, name: str, endpoint: str, path: str) -> Any:
        return await self.proxy_open(*self._target(name, endpoint), path)

    def post(self, name: str, endpoint: str, path: str) -> Any:
        return self.proxy(*self._target(name, endpoint), path)

    def put(self, name: str, endpoint: str, path: str) -> Any:
        return self.proxy(*self._target(name, endpoint), path)

    def delete(self, name: str, endpoint: str, path: str) -> Any:
        return self.proxy(*self._target(name, endpoint), path)

    def patch(self, name: str, endpoint: str, path: str) -> Any:
        return self.proxy(*self._target(name, endpoint), path)

    def head(self, name: str, endpoint: str, path: str) -> Any:
        return self.proxy(*self._target(name, endpoint), path)

    def options(self, name: str, endpoint: str, path: str) -> Any:
        return self.proxy(*self._target(name, endpoint), path)


def check_own_port(port: str) -> None:
    listener = who_listens(int(port))
    if listener is Listener.NOBODY:
        # Most often a dashboard opened before its cluster: say so, not "forbidden".
        raise web.HTTPError(
            502,
            f"nothing listens on {PROXY_ADDRESS}:{port} of this node yet: start what serves it "
            "(for a dashboard, your Dask cluster or Ray head) in this server, then reload",
        )
    if listener is not Listener.MINE:
        raise web.HTTPError(403, f"nothing of yours listens on {PROXY_ADDRESS}:{port} of this node")


class OwnPortProxyHandler(StreamingDownloads, LocalProxyHandler):
    """/proxy/<port>: jupyter-server-proxy's route, for the server's own user's ports only.
    It connects to the address it checked (upstream says "localhost", which may be ::1)."""

    def proxy(self, port: str, proxied_path: str) -> Any:
        self._checked_route(port)
        return StreamingDownloads.proxy(self, str(PROXY_ADDRESS), port, proxied_path)

    async def open(self, port: str, proxied_path: str) -> Any:
        self._checked_route(port)
        return await self.proxy_open(str(PROXY_ADDRESS), port, proxied_path)

    def _checked_route(self, port: str) -> None:
        check_own_port(port)
        # Upstream names the route after the host unless it is "localhost": the app's
        # prefix and its redirects are /proxy/<port>, the route it was reached by.
        self.proxy_base = f"{'proxy/absolute' if self.absolute_url else 'proxy'}/{port}"


class HostPortProxyHandler(JupyterHandler):
    """/proxy/<host>:<port>: this node's own addresses only, sent to /proxy/<port>, where
    the ownership check applies; other hosts are refused."""

    def initialize(self, absolute_url: bool) -> None:
        self.route = "proxy/absolute" if absolute_url else "proxy"

    @web.authenticated
    def get(self, host: str, port: str, proxied_path: str) -> None:
        if host not in LOCAL_HOSTS:
            raise web.HTTPError(403, f"proxying to {host} is not allowed")
        query = f"?{self.request.query}" if self.request.query else ""
        self.redirect(f"{self.base_url}{self.route}/{port}{proxied_path}{query}")

    @web.authenticated
    def post(self, host: str, port: str, proxied_path: str) -> None:
        raise web.HTTPError(403, f"use {self.base_url}{self.route}/{port}{proxied_path}")

    put = delete = patch = post

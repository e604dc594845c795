"""hpclab-nerfstudio-viewer: the Nerfstudio viewer of a training on the same node.

Current nerfstudio serves its viewer with viser from the training process itself (port
7007 by default): the viewer's page and its websocket on one port, which the browser
reaches only through the owner's server, at <server>/proxy/<port>/. This app makes the
user guide's URL work as printed:

    <server>/nerfstudio/0/?websocket_url=wss://<hub>/user/<user>/<server>/proxy/7007/

It serves the training's own viewer page (so page and training always speak the same viser
protocol version), only from a port its own user alone listens on (the page runs at the
user's origin: another user's page there could act as them), and hands it the websocket URL
under the name viser's page reads (`websocket`). Opened with no URL at all, it fills in the
training's port of this launch (7007, or --viewer-port). When no training answers, the page
says so.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit

from tornado import httpclient, httpserver, netutil, web

from .own_ports import PROXY_ADDRESS, Listener, who_listens

DEFAULT_VIEWER_PORT = 7007
GUIDE_PARAMETER = "websocket_url"
VISER_PARAMETER = "websocket"
_PROXY_PORT = re.compile(r"/proxy/(\d{1,5})/?$")


def training_port(websocket_url: str, default: int) -> int:
    """The node port of the training a websocket URL leads to: the <port> of its
    /proxy/<port>/ path, else the launch's viewer port."""
    match = _PROXY_PORT.search(urlsplit(websocket_url).path)
    return int(match.group(1)) if match and 0 < int(match.group(1)) < 65536 else default


def server_base(prefix: str) -> str:
    """The server's base URL path from the app's prefix, <base>/<app>/<endpoint>."""
    return prefix.rstrip("/").rsplit("/", 2)[0] + "/"


# Only the browser knows the hub's public scheme and host: the page builds the wss:// URL.
_FILL_IN_PAGE = """<!doctype html><meta charset="utf-8"><title>Nerfstudio viewer</title>
<script>
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const url = scheme + location.host + {base} + "proxy/{port}/";
location.replace("?{parameter}=" + encodeURIComponent(url));
</script>
<p>Opening the viewer of the training on port {port}...</p>
"""

_NO_TRAINING_PAGE = """<!doctype html><meta charset="utf-8"><title>Nerfstudio viewer: no training</title>
<h1>No Nerfstudio training answers on port {port} of this node</h1>
<p>The viewer shows a training that runs on the same node as this JupyterLab server.
Start the training here (for example from a terminal of this Lab), wait for it to print
its viewer port, then reload this page. If the training uses another port than {port},
launch the viewer again with <code>--viewer-port=&lt;port&gt;</code> in the launch dialog, or
open <code>?websocket_url=.../proxy/&lt;port&gt;/</code> with that port.</p>
<p>Error: {error}</p>
"""

_NOT_YOURS_PAGE = """<!doctype html><meta charset="utf-8"><title>Nerfstudio viewer: not your training</title>
<h1>Nothing of yours listens on {address}:{port} of this node</h1>
<p>The viewer opens only a training that you run yourself on this node.</p>
"""


class ViewerHandler(web.RequestHandler):
    def initialize(self, prefix: str, viewer_port: int) -> None:
        self.prefix = prefix
        self.viewer_port = viewer_port

    async def get(self, rest: str) -> None:
        if rest:
            # The page's own files (viser inlines them all today), from this launch's training.
            await self.serve_training(self.viewer_port, rest)
            return
        websocket = self.get_query_argument(VISER_PARAMETER, "")
        if websocket:
            await self.serve_training(training_port(websocket, self.viewer_port), "")
            return
        guide_url = self.get_query_argument(GUIDE_PARAMETER, "")
        if guide_url:
            self.redirect(f"{self.prefix}/?{urlencode({VISER_PARAMETER: guide_url})}")
            return
        self.finish(
            _FILL_IN_PAGE.format(
                # A JSON string is a JavaScript string; no "<" can end the script.
                base=json.dumps(server_base(self.prefix)).replace("<", "\\u003c"),
                port=self.viewer_port,
                parameter=GUIDE_PARAMETER,
            )
        )

    async def serve_training(self, port: int, path: str) -> None:
        # Nobody yet: the fetch below says there is no training.
        if who_listens(port) is Listener.ANOTHER_USER:
            self.set_status(403)
            self.finish(_NOT_YOURS_PAGE.format(address=PROXY_ADDRESS, port=port))
            return
        try:
            response = await httpclient.AsyncHTTPClient().fetch(
                f"http://{PROXY_ADDRESS}:{port}/{path}", request_timeout=30
            )
        except (OSError, httpclient.HTTPClientError) as error:
            self.set_status(502)
            self.finish(_NO_TRAINING_PAGE.format(port=port, error=html.escape(str(error))))
            return
        self.set_header("Content-Type", response.headers.get("Content-Type", "text/html"))
        self.finish(response.body)


def application(prefix: str, viewer_port: int) -> web.Application:
    prefix = prefix.rstrip("/")
    return web.Application(
        [(rf"{re.escape(prefix)}/(.*)", ViewerHandler, {"prefix": prefix, "viewer_port": viewer_port})]
    )


async def serve(socket_path: str, prefix: str, viewer_port: int) -> None:
    server = httpserver.HTTPServer(application(prefix, viewer_port))
    server.add_socket(netutil.bind_unix_socket(socket_path, mode=0o600))
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the Unix socket to serve on")
    parser.add_argument("--prefix", required=True, help="the app's URL path")
    parser.add_argument("--viewer-port", type=int, default=DEFAULT_VIEWER_PORT, help="the training's viewer port")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.socket, args.prefix, args.viewer_port))


if __name__ == "__main__":
    main()

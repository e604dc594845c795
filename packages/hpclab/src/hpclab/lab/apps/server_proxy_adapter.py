"""The private parts of jupyter-server-proxy that the apps' proxy uses, in one place."""

from __future__ import annotations

from typing import Any

from jupyter_server_proxy.handlers import ProxyHandler
from jupyter_server_proxy.unixsock import UnixResolver
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from hpclab.lab.upstreams import require

SERVER_PROXY_VERSION = require("jupyter-server-proxy", __name__)
MAX_DOWNLOAD = 1 << 40  # streamed, never held in memory


class StreamingDownloads(ProxyHandler):
    """jupyter-server-proxy holds a whole response in memory before sending it on, and
    its client gives up past tornado's 100 MB: GET responses are streamed here instead,
    chunk by chunk, by a client without that limit, with redirects still sent back under
    the proxy's prefix."""

    _streamed_target: tuple[str, Any, str] | None = None

    async def _proxy_buffered(self, host: str, port: Any, proxied_path: str, body: Any, client: Any) -> Any:
        if self.request.method != "GET":
            return await super()._proxy_buffered(host, port, proxied_path, body, client)
        self._streamed_target = (host, port, proxied_path)
        resolver = {"resolver": UnixResolver(self.unix_socket)} if self.unix_socket else {}
        streaming_client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_DOWNLOAD, **resolver)
        try:
            return await self._proxy_progressive(host, port, proxied_path, body, streaming_client)
        finally:
            streaming_client.close()

    def proxy_request_headers(self) -> Any:
        headers = super().proxy_request_headers()
        if self._streamed_target is not None:
            # The streaming path does not pass Content-Encoding on: ask for plain bodies.
            headers.pop("Accept-Encoding", None)
        return headers

    def set_header(self, name: str, value: Any) -> None:
        if self._streamed_target is not None and name.lower() == "location":
            value = self._rewrite_location_header(str(value), *self._streamed_target)
        super().set_header(name, value)

"""A stand-in for the hub's API that records what servers' launchers POST to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HubRecord:
    url: str
    posts: list[tuple[str, str, dict]] = field(default_factory=list)

    def fields(self) -> dict:
        """Everything posted, merged in order (as the spawner's attributes would be)."""
        merged: dict = {}
        for _, _, body in self.posts:
            merged.update(body)
        return merged


@contextmanager
def fake_hub() -> Iterator[HubRecord]:
    record = HubRecord(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server names it
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            record.posts.append((self.path, self.headers.get("Authorization", ""), body))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    record.url = f"http://127.0.0.1:{server.server_address[1]}/hub/api"
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()

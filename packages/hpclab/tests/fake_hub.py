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
    # JSON answers by path (with a 200); other paths get an empty 201.
    answers: dict[str, dict] = field(default_factory=dict)
    # (status, message) by path, answered as JupyterHub answers an HTTPError.
    refusals: dict[str, tuple[int, str]] = field(default_factory=dict)

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
            status, message = record.refusals.get(self.path, (0, ""))
            if status:
                answer = json.dumps({"status": status, "message": message}).encode()
            else:
                answer = json.dumps(record.answers[self.path]).encode() if self.path in record.answers else b""
            self.send_response(status or (200 if answer else 201))
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

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

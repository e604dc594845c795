"""A browser-less JupyterHub user: logs in through the login form, then uses the REST API
and the spawn form with its session cookie, all through the public HTTPS port."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import requests
import websocket


class HubSession:
    def __init__(self, base_url: str, user: str, ca_file: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.http = requests.Session()
        # Trust exactly the hub's certificate (the demo's is self-signed). Set per request:
        # REQUESTS_CA_BUNDLE in the environment would win over a session-wide setting.
        self.ca_file = ca_file
        original = self.http.request
        self.http.request = lambda *args, **kwargs: original(*args, **{"verify": ca_file, **kwargs})  # type: ignore[method-assign]

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _xsrf(self) -> str:
        return self.http.cookies.get("_xsrf", path="/hub/") or self.http.cookies.get("_xsrf") or ""

    def login(self, password: str) -> requests.Response:
        page = self.http.get(self.url("/hub/login"), timeout=30)
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        return self.http.post(
            self.url("/hub/login"),
            data={"username": self.user, "password": password, "_xsrf": token.group(1) if token else ""},
            timeout=60,
            allow_redirects=False,
        )

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-XSRFToken": self._xsrf(), **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(f"/hub/api{path}"), headers=headers, timeout=60, **kwargs)

    def start(self, server: str, options: dict[str, Any]) -> requests.Response:
        return self.api("POST", f"/users/{self.user}/servers/{server}", json=options)

    def submit_form(self, server: str, fields: dict[str, str]) -> requests.Response:
        path = f"/hub/spawn/{self.user}/{server}" if server else f"/hub/spawn/{self.user}"
        return self.http.post(self.url(path), data={**fields, "_xsrf": self._xsrf()}, timeout=60, allow_redirects=False)

    def servers(self) -> dict[str, Any]:
        return self.api("GET", f"/users/{self.user}").json().get("servers", {})

    def wait_ready(self, server: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.servers().get(server, {})
            if state.get("ready"):
                return state
            if not state.get("pending") and state and not state.get("ready"):
                raise AssertionError(f"server {server!r} stopped while starting: {state}")
            time.sleep(0.5)
        raise AssertionError(f"server {server!r} not ready after {timeout} s: {self.servers()}")

    def first_progress_message(self, server: str, containing: str, timeout: float = 30) -> str:
        """The first event of the spawn progress stream (what the spawn page shows) that
        contains the given text."""
        path = f"/hub/api/users/{self.user}/servers/{server}/progress"
        deadline = time.monotonic() + timeout
        with self.http.get(
            self.url(path), headers={"X-XSRFToken": self._xsrf()}, stream=True, timeout=timeout
        ) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    message = json.loads(line[5:]).get("message", "")
                    if containing in message:
                        return message
                if time.monotonic() > deadline:
                    break
        raise AssertionError(f"no progress message containing {containing!r} for {server}")

    def open_server(self, server: str, options: dict[str, Any]) -> str:
        """Start a server, wait until it is ready, open its Lab once (which sets the
        server's cookies through the hub's OAuth redirects); its URL path."""
        response = self.start(server, options)
        assert response.status_code in (201, 202), response.text
        self.wait_ready(server)
        path = f"/user/{self.user}/{server}".rstrip("/")
        assert self.http.get(self.url(f"{path}/lab"), timeout=60).status_code == 200
        return path

    def server_request(self, method: str, server_path: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to one of the user's servers (server_path: /user/<name>/<server>)."""
        base = server_path.rstrip("/")
        xsrf = self.http.cookies.get("_xsrf", path=base + "/") or self._xsrf()
        headers = {"X-XSRFToken": xsrf, **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(f"{base}{path}"), headers=headers, timeout=60, **kwargs)

    def remove_stopped_servers(self) -> None:
        """Delete the user's stopped named servers: each counts against the hub's limit."""
        model = self.api("GET", f"/users/{self.user}", params={"include_stopped_servers": "1"}).json()
        for name, server in model.get("servers", {}).items():
            if name and not server.get("ready") and not server.get("pending"):
                self.api("DELETE", f"/users/{self.user}/servers/{name}", json={"remove": True})

    def stop(self, server: str) -> requests.Response:
        return self.api("DELETE", f"/users/{self.user}/servers/{server}")

    def logout(self) -> requests.Response:
        """As the confirmation page's button does: a POST with the page's XSRF token."""
        page = self.http.get(self.url("/hub/logout"), timeout=60)
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        return self.http.post(
            self.url("/hub/logout"), data={"_xsrf": token.group(1) if token else self._xsrf()}, timeout=120
        )


class LabKernel:
    """A kernel of one of the user's servers, driven over its websocket as JupyterLab does."""

    def __init__(self, hub: HubSession, server_path: str, kernel_name: str = "python3") -> None:
        self.hub = hub
        self.server_path = server_path
        self.api = f"{server_path.rstrip('/')}/api"
        response = hub.server_request("POST", server_path, "/api/kernels", json={"name": kernel_name})
        response.raise_for_status()
        self.kernel_id = response.json()["id"]
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in hub.http.cookies)
        self.socket = websocket.create_connection(
            hub.url(f"{self.api}/kernels/{self.kernel_id}/channels").replace("https://", "wss://"),
            header=[f"Cookie: {cookies}"],
            sslopt={"ca_certs": hub.ca_file},
            timeout=60,
        )
        self._wait_until_it_answers()

    def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": uuid.uuid4().hex, "username": self.hub.user}
        self.socket.send(
            json.dumps(
                {
                    "header": {**header, "version": "5.3"},
                    "parent_header": {},
                    "metadata": {},
                    "content": content,
                    "channel": "shell",
                }
            )
        )
        return msg_id

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None once the deadline has passed (the server's pings
        would otherwise keep a blocking receive waiting for ever)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.socket.settimeout(remaining)
        try:
            return json.loads(self.socket.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def _wait_until_it_answers(self, timeout: float = 60) -> None:
        """As JupyterLab does: kernel_info until a reply, so that no request is sent
        before the kernel's channels are connected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg_id = self._send("kernel_info_request", {})
            attempt = min(deadline, time.monotonic() + 5)
            while (message := self._receive(attempt)) is not None:
                if (
                    message.get("parent_header", {}).get("msg_id") == msg_id
                    and message["msg_type"] == "kernel_info_reply"
                ):
                    return
        raise AssertionError(f"kernel {self.kernel_id} did not answer within {timeout:g} s")

    def execute(self, code: str, timeout: float = 60) -> tuple[str, str]:
        """Run code; return its stdout and its error text (traceback or kernel death)."""
        content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
        msg_id = self._send("execute_request", content)
        stdout, errors = [], []
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message is None:
                errors.append(f"no answer within {timeout:g} s")
                break
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                state = message["content"].get("execution_state") if message.get("msg_type") == "status" else None
                if state in ("dead", "restarting"):
                    errors.append("kernel died")
                    break
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream" and content.get("name") == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        return "".join(stdout), "\n".join(errors)

    def run_and_leave(self, code: str) -> None:
        """Start code and close the connection at once, as a closed tab leaves a cell running."""
        self._send("execute_request", {"code": code, "silent": False, "store_history": False, "allow_stdin": False})
        self.socket.close()

    def close(self) -> None:
        self.socket.close()
        self.hub.server_request("DELETE", self.server_path, f"/api/kernels/{self.kernel_id}")

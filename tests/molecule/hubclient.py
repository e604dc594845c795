"""A browser-less JupyterHub user: logs in through the login form, then uses the REST API
and the spawn form with its session cookie, all through the public HTTPS port."""

from __future__ import annotations

import re
import time
from typing import Any

import requests


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
        return self.http.post(
            self.url(path), data={**fields, "_xsrf": self._xsrf()}, timeout=60, allow_redirects=False
        )

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

    def stop(self, server: str) -> requests.Response:
        return self.api("DELETE", f"/users/{self.user}/servers/{server}")

    def logout(self) -> requests.Response:
        return self.http.get(self.url("/hub/logout"), timeout=120)

"""What a server's launcher tells the hub before JupyterLab starts: its port, or why it
cannot start.

Both go to batchspawner's route on the hub (POST ``{JUPYTERHUB_API_URL}/batchspawner``
with the server's token), where the hub's own handler accepts exactly these two fields
while the server starts. A SLURM server picks its port on its node, so the hub learns it
this way; a start-up error sent the same way lets the spawn page say why, rather than
only that it ended.
"""

from __future__ import annotations

import json
import socket
import ssl
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

REPORT_TIMEOUT = 30.0
MAX_ERROR_LENGTH = 1000


def free_port() -> int:
    """A TCP port free on this node now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


def _tls_context(environment: Mapping[str, str]) -> ssl.SSLContext | None:
    """The client certificate of JupyterHub's internal_ssl, when it is on."""
    certfile, keyfile = environment.get("JUPYTERHUB_SSL_CERTFILE"), environment.get("JUPYTERHUB_SSL_KEYFILE")
    if not (certfile and keyfile):
        return None
    context = ssl.create_default_context(cafile=environment.get("JUPYTERHUB_SSL_CLIENT_CA") or None)
    context.load_cert_chain(certfile, keyfile)
    return context


def tell_hub(environment: Mapping[str, str], fields: Mapping[str, object]) -> None:
    request = urllib.request.Request(
        environment["JUPYTERHUB_API_URL"].rstrip("/") + "/batchspawner",
        data=json.dumps(dict(fields)).encode(),
        headers={"Authorization": f"token {environment['JUPYTERHUB_API_TOKEN']}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=REPORT_TIMEOUT, context=_tls_context(environment)):
        pass


def report_port(environment: Mapping[str, str], port: int) -> None:
    tell_hub(environment, {"port": port})


def report_startup_error(environment: Mapping[str, str], message: str) -> None:
    tell_hub(environment, {"startup_error": message[:MAX_ERROR_LENGTH]})

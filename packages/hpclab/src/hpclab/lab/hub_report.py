"""What a server's launcher tells the hub before JupyterLab starts: its port, or why it
cannot start; and, first, what it asks: a SLURM server's token.

Both go to batchspawner's route on the hub (POST ``{JUPYTERHUB_API_URL}/batchspawner``
with the server's token), where the hub's own handler accepts exactly these two fields
while the server starts. A SLURM server picks its port on its node, so the hub learns it
this way; a start-up error sent the same way lets the spawn page say why, rather than
only that it ended. A SLURM server's token is not in the job's environment (which Slurm
carries in clear): the launcher fetches it over TLS with a munge credential that proves
it runs as the server's user (the hub's side: hpclab.hub.token_handover).
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, MutableMapping
from urllib.parse import urlsplit, urlunsplit

from hpclab.common.hub_api import TOKEN_HANDOVER_VARIABLE, TOKEN_REQUEST_FIELDS, TOKEN_VARIABLES

REPORT_TIMEOUT = 30.0
TOKEN_PATH = "/hpclab/server-token"
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


def hub_tls_context(environment: Mapping[str, str]) -> ssl.SSLContext | None:
    """The client certificate of JupyterHub's internal_ssl, when it is on."""
    certfile, keyfile = environment.get("JUPYTERHUB_SSL_CERTFILE"), environment.get("JUPYTERHUB_SSL_KEYFILE")
    if not (certfile and keyfile):
        return None
    context = ssl.create_default_context(cafile=environment.get("JUPYTERHUB_SSL_CLIENT_CA") or None)
    context.load_cert_chain(certfile, keyfile)
    return context


def _post(environment: Mapping[str, str], path: str, fields: Mapping[str, object], headers: Mapping[str, str]) -> bytes:
    request = urllib.request.Request(
        environment["JUPYTERHUB_API_URL"].rstrip("/") + path,
        data=json.dumps(dict(fields)).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=REPORT_TIMEOUT, context=hub_tls_context(environment)) as response:
        return bytes(response.read())


def tell_hub(environment: Mapping[str, str], fields: Mapping[str, object]) -> None:
    _post(environment, "/batchspawner", fields, {"Authorization": f"token {environment['JUPYTERHUB_API_TOKEN']}"})


class TokenUnavailable(RuntimeError):
    """The hub did not hand the server's token over; the message says why, for the log.
    retry: the hub may answer if asked again (it was unreachable, or said 503)."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


def munge_credential(environment: Mapping[str, str]) -> str:
    """A credential of this process's user, naming the server, for the hub's account only."""
    named = (environment.get("JUPYTERHUB_USER", ""), environment.get("JUPYTERHUB_SERVER_NAME", ""))
    payload = json.dumps(dict(zip(TOKEN_REQUEST_FIELDS, named, strict=True)))
    try:
        munge = subprocess.run(
            ["munge", f"--restrict-uid={environment[TOKEN_HANDOVER_VARIABLE]}", f"--string={payload}"],
            capture_output=True,
            text=True,
            timeout=REPORT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise TokenUnavailable(f"munge cannot make a credential on {socket.gethostname()}: {error}") from error
    if munge.returncode != 0:
        raise TokenUnavailable(f"munge cannot make a credential: {munge.stderr.strip() or munge.returncode}")
    return munge.stdout.strip()


def _refusal(error: urllib.error.HTTPError) -> str:
    """The hub's own reason, from its JSON answer."""
    try:
        return str(json.loads(error.read())["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return str(error.reason)


def _ask_for_token(environment: Mapping[str, str]) -> str:
    try:
        answer = _post(environment, TOKEN_PATH, {"credential": munge_credential(environment)}, {})
        return str(json.loads(answer)["token"])
    except urllib.error.HTTPError as error:
        message = f"the hub refused (HTTP {error.code}): {_refusal(error)}"
        raise TokenUnavailable(message, retry=error.code == 503) from error
    except urllib.error.URLError as error:
        hub = urlsplit(environment["JUPYTERHUB_API_URL"]).netloc
        if isinstance(error.reason, ssl.SSLCertVerificationError):
            raise TokenUnavailable(
                f"{socket.gethostname()} does not trust the hub's certificate at {hub} "
                f"({error.reason.verify_message}); the administrators must make the nodes trust it "
                "(jupyterhub_hub_api_tls in the bundle's docs/security.md)"
            ) from error
        raise TokenUnavailable(f"the hub cannot be reached at {hub}: {error.reason}", retry=True) from error
    except (ValueError, KeyError, TypeError) as error:
        raise TokenUnavailable(f"the hub's answer has no token: {error}") from error


def fetch_token(environment: MutableMapping[str, str], attempts: int = 3, pause: float = 2.0) -> None:
    """Set the server's token in environment when the hub hands it over rather than
    sending it with the job (TOKEN_HANDOVER_VARIABLE set); nothing otherwise. A hub
    that cannot check credentials for now (503) or cannot be reached is asked again."""
    if TOKEN_HANDOVER_VARIABLE not in environment:
        return
    for attempt in range(1, attempts + 1):
        try:
            token = _ask_for_token(environment)
            break
        except TokenUnavailable as error:
            if attempt == attempts or not error.retry:
                raise
            time.sleep(pause)
    for name in TOKEN_VARIABLES:
        environment[name] = token


def report_port(environment: Mapping[str, str], port: int) -> None:
    tell_hub(environment, {"port": port})


def report_startup_error(environment: Mapping[str, str], message: str) -> None:
    tell_hub(environment, {"startup_error": message[:MAX_ERROR_LENGTH]})

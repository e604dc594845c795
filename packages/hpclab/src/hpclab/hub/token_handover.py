"""A SLURM server's token, handed to its job over TLS against a munge credential.

A job's environment travels from sbatch to slurmctld and on to the node in Slurm's own
messages, which munge authenticates but does not encrypt (Slurm 22.05), so anyone who
can read the cluster network would read a token put there. The hub keeps the token out
of the job's environment; the job's launcher asks for it at
``POST {JUPYTERHUB_API_URL}/hpclab/server-token`` with a munge credential it made as
its user, naming the server and decodable by the hub's account only. munge says which
uid made the credential and refuses it twice, so the hub hands the token only to the
server's owner, once, while that server starts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jupyterhub.apihandlers import APIHandler
from tornado import web

from hpclab.common.hub_api import TOKEN_REQUEST_FIELDS

from .commands import CommandError, run_command

ROUTE = "/api/hpclab/server-token"
UNMUNGE = ("unmunge", "--numeric")
MAX_CREDENTIAL = 4096
UNMUNGE_TIMEOUT = 10.0
_DECODING = asyncio.Semaphore(8)


class HandoverError(ValueError):
    """A request that is not what a launcher sends (a 400)."""


class HandoverForbidden(Exception):
    """A credential that does not prove the asker owns the server (a 403)."""


class HandoverRefused(Exception):
    """The server's state does not allow a handover now (a 409)."""


class HandoverUnavailable(Exception):
    """The hub cannot check credentials now, munged down for instance (a 503: try again)."""


@dataclass(frozen=True)
class MungeIdentity:
    uid: int
    payload: str


class TokenHolder(Protocol):
    def hand_over_token(self, uid: int) -> str: ...


def parse_request(body: bytes) -> str:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise HandoverError(f"the request is not JSON: {error}") from error
    if not isinstance(data, dict) or set(data) != {"credential"}:
        raise HandoverError("the request must be an object with credential only")
    credential = data["credential"]
    if not isinstance(credential, str) or not credential.startswith("MUNGE:") or len(credential) > MAX_CREDENTIAL:
        raise HandoverError("credential must be a munge credential (MUNGE:...)")
    return credential


def parse_unmunge_output(returncode: int, output: str) -> MungeIdentity:
    """unmunge's metadata lines, a blank line, then the payload."""
    metadata, _, payload = output.partition("\n\n")
    fields = dict(line.split(":", 1) for line in metadata.splitlines() if ":" in line)
    status = fields.get("STATUS", "").strip()
    uid = fields.get("UID", "").strip()
    if not status:
        # No verdict on the credential: unmunge could not ask munged.
        raise HandoverUnavailable(f"the hub cannot decode munge credentials now (unmunge exit status {returncode})")
    if returncode != 0 or status != "0" or not uid.isdigit():
        raise HandoverForbidden(f"munge refused the credential (status {status or returncode})")
    return MungeIdentity(int(uid), payload)


def parse_payload(payload: str) -> tuple[str, str]:
    """The user and server the credential names."""
    try:
        data = json.loads(payload)
    except ValueError as error:
        raise HandoverError("the credential's payload is not JSON") from error
    if not isinstance(data, dict) or set(data) != set(TOKEN_REQUEST_FIELDS):
        raise HandoverError(f"the credential's payload names {' and '.join(TOKEN_REQUEST_FIELDS)} only")
    user, server = (data[field] for field in TOKEN_REQUEST_FIELDS)
    if not isinstance(user, str) or not isinstance(server, str):
        raise HandoverError("user and server must be strings")
    return user, server


async def decode_credential(credential: str, unmunge: Sequence[str] = UNMUNGE) -> MungeIdentity:
    # The route needs no login: a flood of requests waits here rather than forking unmunge.
    async with _DECODING:
        try:
            result = await run_command(unmunge, input_text=credential, timeout=UNMUNGE_TIMEOUT)
        except CommandError as error:
            raise HandoverUnavailable(f"the hub cannot decode munge credentials now: {error}") from error
    return parse_unmunge_output(result.returncode, result.stdout)


class ServerTokenHandler(APIHandler):
    """No hub authentication: the munge credential is the proof of who asks."""

    async def post(self) -> None:
        try:
            credential = parse_request(self.request.body)
            identity = await decode_credential(credential)
            user_name, server_name = parse_payload(identity.payload)
            user = self.find_user(user_name)
            spawner: Any = user.spawners.get(server_name) if user is not None else None
            if spawner is None or not hasattr(spawner, "hand_over_token"):
                raise HandoverForbidden("the credential's maker does not own that server")
            token = spawner.hand_over_token(identity.uid)
        except HandoverError as error:
            raise web.HTTPError(400, str(error)) from error
        except HandoverForbidden as error:
            raise web.HTTPError(403, str(error)) from error
        except HandoverRefused as error:
            raise web.HTTPError(409, str(error)) from error
        except HandoverUnavailable as error:
            raise web.HTTPError(503, str(error)) from error
        self.finish({"token": token})

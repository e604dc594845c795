"""The systemd units of Interactive servers: the hub names them, and a server's power
sampler reads the names back to know how many users share the login node."""

from __future__ import annotations

import re

UNIT_PREFIX = "hpclab-interactive"
SERVER_NAME = re.compile(r"[A-Za-z0-9._-]{0,64}")
_UNIT_UID = re.compile(re.escape(UNIT_PREFIX) + r"-(\d+)(?:-[A-Za-z0-9._-]{1,64})?\.service")


def unit_name(uid: int, server_name: str) -> str:
    """One unit per user and server, one-to-one: a uid has no '-', the default server no
    suffix (user names may contain '-', and a named server may be called "default")."""
    if not SERVER_NAME.fullmatch(server_name):
        raise ValueError(f"unsupported server name: {server_name!r}")
    suffix = f"-{server_name}" if server_name else ""
    return f"{UNIT_PREFIX}-{uid}{suffix}.service"


def unit_uid(name: str) -> int | None:
    """The uid of a unit named by unit_name, or None for any other name."""
    match = _UNIT_UID.fullmatch(name)
    return int(match.group(1)) if match else None

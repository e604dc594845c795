"""Which local TCP ports a user listens on, from /proc/net/tcp and /proc/net/tcp6.

The generic /proxy/<port> route of a user's server forwards only to ports the same user
listens on: on a shared node, bob's server must not become a way into alice's apps.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

LISTEN = "0A"
TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def listening_owners(table: Iterable[str]) -> dict[int, set[int]]:
    """{port: uids listening on it} from the lines of a /proc/net/tcp* table."""
    owners: dict[int, set[int]] = {}
    for line in table:
        fields = line.split()
        # sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
        if len(fields) < 8 or fields[3] != LISTEN or ":" not in fields[1]:
            continue
        try:
            port = int(fields[1].rsplit(":", 1)[1], 16)
            uid = int(fields[7])
        except ValueError:
            continue
        owners.setdefault(port, set()).add(uid)
    return owners


def port_owners(port: int, tables: Iterable[Path] = TABLES) -> set[int]:
    owners: set[int] = set()
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        owners |= listening_owners(lines).get(port, set())
    return owners

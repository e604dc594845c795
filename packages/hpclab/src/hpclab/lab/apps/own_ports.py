"""Who would receive a connection to a local TCP port, from /proc/net/tcp and tcp6.

The generic /proxy/<port> route of a user's server forwards only to ports the same user
listens on: on a shared node, bob's server must not become a way into alice's apps. The
check answers for the very address the proxy connects to: a listener bound to that
address wins over one bound to every address (as the kernel picks), so bob listening on
127.0.0.2:P or the node's address on P says nothing about who gets 127.0.0.1:P.
"""

from __future__ import annotations

import enum
import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

LISTEN = "0A"
TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
PROXY_ADDRESS = ipaddress.IPv4Address("127.0.0.1")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def proc_address(text: str) -> Address:
    """An address as /proc/net/tcp* writes it: 32-bit words in the host's (little-endian) order."""
    raw = bytes.fromhex(text)
    words = b"".join(raw[index : index + 4][::-1] for index in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listeners(table: Iterable[str]) -> list[tuple[Address, int, int]]:
    """(address, port, uid) of the listening sockets in the lines of a /proc/net/tcp* table."""
    found = []
    for line in table:
        fields = line.split()
        # sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
        if len(fields) < 8 or fields[3] != LISTEN or ":" not in fields[1]:
            continue
        address, _, port = fields[1].rpartition(":")
        try:
            found.append((proc_address(address), int(port, 16), int(fields[7])))
        except ValueError:
            continue
    return found


def receivers(address: ipaddress.IPv4Address, port: int, sockets: Iterable[tuple[Address, int, int]]) -> set[int]:
    """uids of the listeners a connection to address:port reaches: those bound to it
    exactly (IPv4 or IPv4-mapped IPv6), else those on 0.0.0.0, else those on ::."""
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    ranked: list[set[int]] = [set(), set(), set()]
    for bound, bound_port, uid in sockets:
        if bound_port != port:
            continue
        if bound in (address, mapped):
            ranked[0].add(uid)
        elif bound == ipaddress.IPv4Address(0):
            ranked[1].add(uid)
        elif bound == ipaddress.IPv6Address(0):
            ranked[2].add(uid)
    return next((uids for uids in ranked if uids), set())


def port_receivers(
    port: int, address: ipaddress.IPv4Address = PROXY_ADDRESS, tables: Iterable[Path] = TABLES
) -> set[int]:
    sockets: list[tuple[Address, int, int]] = []
    for table in tables:
        try:
            sockets += listeners(table.read_text().splitlines()[1:])
        except OSError:
            continue
    return receivers(address, port, sockets)


class Listener(enum.Enum):
    NOBODY = "nobody"
    MINE = "mine"
    ANOTHER_USER = "another user"


def who_listens(port: int) -> Listener:
    """Whether a connection to the proxy's address on port would reach this process's
    user alone (MINE), nobody, or anyone else (another user, or several users)."""
    uids = port_receivers(port)
    if not uids:
        return Listener.NOBODY
    return Listener.MINE if uids == {os.getuid()} else Listener.ANOTHER_USER

"""Run an application that can only listen on TCP in a network namespace of its own,
reachable only through a Unix socket in the user's private directory.

    unshare --user --map-current-user --keep-caps --net -- python -m hpclab.lab.apps.private_network \\
        --socket /tmp/hpclab-apps-x/tensorboard-1.sock --port 6006 -- tensorboard --port 6006 ...

Inside the new namespace only its own loopback exists: the app's port cannot be reached
from the node, by other users or anyone else. This process brings loopback up, starts
the app, and relays each connection to the socket (which the proxy uses) to the app's
port; it ends when the app ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import struct
import sys
from collections.abc import Sequence

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
CHUNK = 64 * 1024


def bring_loopback_up() -> None:
    """A new network namespace starts with lo down (what `ip link set lo up` does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(control, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(control, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


async def _relay(port: int, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    try:
        app_reader, app_writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, app_writer), _pipe(app_reader, client_writer))


async def serve(socket_path: str, port: int, command: Sequence[str]) -> int:
    bring_loopback_up()
    process = await asyncio.create_subprocess_exec(*command)
    old_mask = os.umask(0o077)
    try:
        server = await asyncio.start_unix_server(lambda r, w: _relay(port, r, w), path=socket_path)
    finally:
        os.umask(old_mask)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, process.send_signal, sig)
    status = await process.wait()
    server.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    return status


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="private_network", description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    try:
        status = asyncio.run(serve(args.socket, args.port, command))
    except OSError as error:
        print(f"private network: {error}", file=sys.stderr)
        status = 1
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()

"""Starting a command in a private network namespace with one port forwarded to it.

The command runs under ``unshare --user --map-current-user --net``: a user namespace
(no root needed) that maps the user to themselves, so files, munge and Slurm see the
same uid, and a network namespace with nothing in it. pasta (Debian package passt) then
joins that namespace, copies the node's addresses and routes into it and forwards one
TCP port of the node, JupyterLab's, to the inside. Everything else bound inside stays
unreachable from the node and from other nodes; ``--no-map-gw`` and ``-T none`` keep the
inside away from the node's loopback. Outgoing connections to other hosts (the Slurm
controller, a compute node's hub) go through pasta's translation.

pasta is attached to the namespace instead of spawning the command itself because it
would also give the command a PID namespace, where ``os.getpid()`` no longer names the
process in ``/proc`` (the resource and power indicators read it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

from hpclab.common.hub_api import HUB_URL_VARIABLES

TUN_DEVICE = "/dev/net/tun"
PASTA_READY_TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"
_FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be made on this node; the message says what is missing."""


@dataclass(frozen=True)
class Tools:
    pasta: str
    unshare: str


@dataclass(frozen=True)
class Forwarding:
    """What crosses the namespace's boundary: the Lab's port inwards, on all of the
    node's addresses or on loopback only, and node loopback ports outwards (the hub's
    API when the hub is on this node)."""

    lab_port: int
    loopback_only: bool
    outward_loopback_ports: tuple[int, ...] = ()


def check_support(pasta: str = "pasta", unshare: str = "unshare") -> Tools:
    """The tools, once it is clear that this node can make a sandbox for this user."""
    node = socket.gethostname()
    pasta_path = shutil.which(pasta)
    if pasta_path is None:
        raise SandboxUnavailable(f"pasta (Debian package passt) is not installed on {node}")
    unshare_path = shutil.which(unshare)
    if unshare_path is None:
        raise SandboxUnavailable(f"unshare (util-linux) is not installed on {node}")
    try:
        os.close(os.open(TUN_DEVICE, os.O_RDWR))
    except OSError as error:
        raise SandboxUnavailable(
            f"{TUN_DEVICE} cannot be opened on {node} ({error.strerror}); pasta needs it, with mode 0666"
        ) from error
    probe = subprocess.run(
        [unshare_path, "--user", "--map-current-user", "--net", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"user namespaces are not available to users on {node} ({probe.stderr.strip() or probe.returncode}); "
            "the administrators can enable them with the user.max_user_namespaces sysctl"
        )
    return Tools(pasta_path, unshare_path)


def is_local_address(host: str) -> bool:
    """Whether host names an address of this node (only local addresses can be bound)."""
    try:
        addresses = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    for family, _, _, _, address in addresses:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((address[0], 0))
            except OSError:
                continue
            return True
    return False


def hub_on_loopback(environment: Mapping[str, str]) -> tuple[dict[str, str], tuple[int, ...]]:
    """Hub URLs rewritten to loopback, and the port to pass outwards, when the hub's API
    is on this node (an Interactive server on the login node); nothing otherwise: the
    node's own addresses are the namespace's own inside."""
    api = urlsplit(environment.get("JUPYTERHUB_API_URL", ""))
    if not api.hostname or not api.port or not is_local_address(api.hostname):
        return {}, ()
    rewritten = {}
    for name in HUB_URL_VARIABLES:
        url = urlsplit(environment.get(name, ""))
        if url.hostname == api.hostname:
            rewritten[name] = urlunsplit(url._replace(netloc=f"{LOOPBACK}:{url.port or api.port}"))
    return rewritten, (api.port,)


def pasta_command(pasta: str, forwarding: Forwarding, target_pid: int, pid_file: Path) -> list[str]:
    inward = f"{LOOPBACK}/{forwarding.lab_port}" if forwarding.loopback_only else str(forwarding.lab_port)
    outward = ",".join(map(str, forwarding.outward_loopback_ports)) or "none"
    return [
        pasta,
        "--config-net",
        "--quiet",
        "--foreground",
        f"--pid={pid_file}",
        f"--tcp-ports={inward}",
        "--udp-ports=none",
        f"--tcp-ns={outward}",
        "--udp-ns=none",
        "--no-map-gw",
        str(target_pid),
    ]


def waiting_command(unshare: str, release_fd: int, command: Sequence[str]) -> list[str]:
    """The command in new user and network namespaces, held until a line arrives on
    release_fd (the network is ready); end of file, the launcher gone, runs nothing."""
    return [
        unshare,
        "--user",
        "--map-current-user",
        "--net",
        "--",
        "/bin/sh",
        "-c",
        f'read -r _ <&{release_fd} && exec "$@"',
        "hpclab-sandbox",
        *command,
    ]


class Sandbox:
    """The command running in its namespace, with pasta beside it until it ends."""

    def __init__(self, command: subprocess.Popen[bytes], pasta: subprocess.Popen[bytes]) -> None:
        self._command = command
        self._pasta = pasta

    @classmethod
    def start(
        cls, tools: Tools, forwarding: Forwarding, command: Sequence[str], environment: Mapping[str, str]
    ) -> Sandbox:
        release_read, release_write = os.pipe()
        inner = subprocess.Popen(
            waiting_command(tools.unshare, release_read, command), env=dict(environment), pass_fds=(release_read,)
        )
        os.close(release_read)
        with tempfile.TemporaryDirectory(prefix="hpclab-sandbox-") as scratch:
            pid_file = Path(scratch) / "pasta.pid"
            pasta = subprocess.Popen(pasta_command(tools.pasta, forwarding, inner.pid, pid_file))
            deadline = time.monotonic() + PASTA_READY_TIMEOUT
            # pasta writes its pid file once the namespace's network is configured.
            while not pid_file.exists():
                if pasta.poll() is not None or time.monotonic() > deadline:
                    pasta.kill()
                    inner.kill()
                    os.close(release_write)
                    inner.wait()
                    raise SandboxUnavailable(
                        f"pasta could not set up the sandbox's network on {socket.gethostname()} "
                        f"(exit status {pasta.wait()}; its messages are above)"
                    )
                time.sleep(0.005)
        os.write(release_write, b"ready\n")
        os.close(release_write)
        return cls(inner, pasta)

    def wait(self) -> int:
        """Pass the signals the launcher gets (scancel, systemctl stop) to the command,
        wait for it, stop pasta; the command's exit status, 128+N for signal N."""

        def forward(number: int, _frame: FrameType | None) -> None:
            self._command.send_signal(number)

        for number in _FORWARDED_SIGNALS:
            signal.signal(number, forward)
        status = self._command.wait()
        self._pasta.terminate()
        self._pasta.wait()
        return 128 - status if status < 0 else status

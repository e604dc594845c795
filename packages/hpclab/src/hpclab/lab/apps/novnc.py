"""hpclab-novnc: a remote desktop for the browser, on a visualisation node.

Starts a TigerVNC X server with a terminal on a free display of its own, then becomes
websockify serving noVNC's page and relaying its websocket to the X server. Only the
desktop's owner gets in: the X display takes clients holding its cookie (an
Xauthority file in ~/.vnc, 0600), and the VNC server asks for the password of this
launch (HPCLAB_APP_SECRET, which the launch dialog's URL hands to noVNC, and which the
user can read in ~/.vnc/idris_config). The apps supervisor runs it in a private network
namespace, so the VNC port is not even reachable from the node.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .supervisor import SECRET_VARIABLE, free_port

X_SERVERS = ("Xtigervnc", "Xvnc")
NOVNC_WEB = "/usr/share/novnc"
# xauth's "wild" family with no display number: the cookie holds for any display.
FAMILY_WILD = 0xFFFF
COOKIE_NAME = b"MIT-MAGIC-COOKIE-1"


def missing_programs() -> list[str]:
    missing = [] if any(shutil.which(name) for name in X_SERVERS) else ["vncserver (TigerVNC's Xvnc)"]
    for program in ("websockify", "vncpasswd"):
        if not shutil.which(program):
            missing.append(program)
    if not os.path.isdir(NOVNC_WEB):
        missing.append(f"noVNC ({NOVNC_WEB})")
    return missing


def xauthority_entry(cookie: bytes) -> bytes:
    """One entry of an Xauthority file (libXau's format: counted fields, big-endian)."""
    fields = (b"", b"", COOKIE_NAME, cookie)
    return struct.pack(">H", FAMILY_WILD) + b"".join(struct.pack(">H", len(field)) + field for field in fields)


def private_file(path: Path, content: bytes) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    return path


def start_x_server(x_server: str, geometry: str, xauthority: Path, password_file: Path, rfb_port: int) -> str:
    """The display (":N") of a new X server, once it accepts clients."""
    read_end, write_end = os.pipe()
    subprocess.Popen(
        [
            x_server,
            "-displayfd",
            str(write_end),
            "-auth",
            str(xauthority),
            "-geometry",
            geometry,
            "-rfbport",
            str(rfb_port),
            "-localhost",
            "-SecurityTypes",
            "VncAuth",
            "-PasswordFile",
            str(password_file),
            "-AlwaysShared",
        ],
        pass_fds=(write_end,),
    )
    os.close(write_end)
    with os.fdopen(read_end) as displayfd:
        number = displayfd.readline().strip()
    if not number.isascii() or not number.isdigit():
        raise RuntimeError("the VNC server did not start")
    return f":{number}"


def wait_for_port(port: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hpclab-novnc", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="where websockify serves noVNC")
    parser.add_argument("--geometry", default="1600x900")
    args = parser.parse_args(argv)
    missing = missing_programs()
    if missing:
        print(
            f"{', '.join(missing)} not found on {socket.gethostname()}: "
            "launch noVNC from a JupyterLab server on a node of the visu partition",
            file=sys.stderr,
        )
        sys.exit(1)
    # VNC passwords count 8 characters.
    password = os.environ.get(SECRET_VARIABLE) or secrets.token_urlsafe(6)
    vnc_dir = Path.home() / ".vnc"
    vnc_dir.mkdir(mode=0o700, exist_ok=True)
    os.chmod(vnc_dir, 0o700)
    obfuscated = subprocess.run(
        [shutil.which("vncpasswd") or "vncpasswd", "-f"], input=password.encode(), capture_output=True, check=True
    ).stdout
    password_file = private_file(vnc_dir / f"passwd-{socket.gethostname()}-{os.getpid()}", obfuscated)
    xauthority = private_file(
        vnc_dir / f"Xauthority-{socket.gethostname()}-{os.getpid()}", xauthority_entry(secrets.token_bytes(16))
    )
    x_server = next(shutil.which(name) for name in X_SERVERS if shutil.which(name))
    rfb_port = free_port()
    try:
        display = start_x_server(x_server, args.geometry, xauthority, password_file, rfb_port)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    if not wait_for_port(rfb_port):
        print("the VNC server does not listen", file=sys.stderr)
        sys.exit(1)
    # What the user guide points to, and what a terminal needs to draw on this desktop.
    private_file(
        vnc_dir / "idris_config",
        f"password={password}\nhost={socket.gethostname()}\ndisplay={display}\nxauthority={xauthority}\n".encode(),
    )
    terminal = shutil.which("xterm")
    if terminal:
        subprocess.Popen(
            [terminal],
            env={**os.environ, "DISPLAY": display, "XAUTHORITY": str(xauthority)},
            cwd=os.environ.get("HOME", "/"),
        )
    websockify = shutil.which("websockify") or "websockify"
    os.execv(websockify, [websockify, "--web", NOVNC_WEB, str(args.port), f"127.0.0.1:{rfb_port}"])


if __name__ == "__main__":
    main()

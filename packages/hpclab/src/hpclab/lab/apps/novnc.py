"""hpclab-novnc: a remote desktop for the browser, on a visualisation node.

Starts a TigerVNC X server with a terminal on a display of its own, then becomes
websockify serving noVNC's page and relaying its websocket to the X server. Run by the
apps supervisor in a private network namespace: the VNC port is unreachable from the
node, so the session needs no password of its own (JupyterHub authenticated the user).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

X_SERVERS = ("Xtigervnc", "Xvnc")
NOVNC_WEB = "/usr/share/novnc"
DISPLAY_NUMBER = 1
VNC_PORT = 5901


def missing_programs() -> list[str]:
    missing = [] if any(shutil.which(name) for name in X_SERVERS) else ["vncserver (TigerVNC's Xvnc)"]
    if not shutil.which("websockify"):
        missing.append("websockify")
    if not os.path.isdir(NOVNC_WEB):
        missing.append(f"noVNC ({NOVNC_WEB})")
    return missing


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
    x_server = next(shutil.which(name) for name in X_SERVERS if shutil.which(name))
    display = f":{DISPLAY_NUMBER}"
    subprocess.Popen(
        [
            x_server,
            display,
            "-geometry",
            args.geometry,
            "-rfbport",
            str(VNC_PORT),
            "-localhost",
            "-SecurityTypes",
            "None",
            "-AlwaysShared",
        ]
    )
    if not wait_for_port(VNC_PORT):
        print("the VNC server did not start", file=sys.stderr)
        sys.exit(1)
    terminal = shutil.which("xterm")
    if terminal:
        subprocess.Popen([terminal], env={**os.environ, "DISPLAY": display}, cwd=os.environ.get("HOME", "/"))
    websockify = shutil.which("websockify") or "websockify"
    os.execv(websockify, [websockify, "--web", NOVNC_WEB, str(args.port), f"127.0.0.1:{VNC_PORT}"])


if __name__ == "__main__":
    main()

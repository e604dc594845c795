"""Largest file that downloads through the hub's proxy and a server's /proxy/<port>,
measured on a running demo cluster (make bench-proxy). Stock jupyter-server-proxy holds
whole responses in memory and fails past 100 MB; hpclab streams GET responses.

alice's Interactive server serves files of growing size from a notebook's web server;
each is downloaded through https://hub/user/alice/<server>/proxy/<port>/<file>.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "molecule"))

from hubclient import HubSession, LabKernel

REPO = Path(__file__).resolve().parents[2]
SERVER = "bench-download"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", default="hpclab-demo")
    parser.add_argument("--port", default="8443")
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 400, 1024, 4096])
    args = parser.parse_args()
    ca = Path(tempfile.mkdtemp()) / "hub.crt"
    ca.write_bytes(
        subprocess.run(
            ["docker", "exec", f"{args.cluster}-hub", "cat", "/etc/jupyterhub/tls/hub.crt"],
            check=True,
            capture_output=True,
        ).stdout
    )
    password = (REPO / ".state" / args.cluster / "credentials" / "alice").read_text().split()[0]
    alice = HubSession(f"https://127.0.0.1:{args.port}", "alice", str(ca))
    alice.login(password)
    alice.start(SERVER, {"kind": "interactive"})
    alice.wait_ready(SERVER)
    path = f"/user/alice/{SERVER}"
    alice.http.get(alice.url(f"{path}/lab"), timeout=60)
    kernel = LabKernel(alice, path)
    try:
        stdout, errors = kernel.execute(
            "import http.server, os, functools, threading\n"
            "directory = os.path.expandvars('$SCRATCH/download-bench'); os.makedirs(directory, exist_ok=True)\n"
            f"for size in {args.sizes_mb}:\n"
            "    with open(f'{directory}/{size}MB', 'wb') as f: f.truncate(size * 2**20)\n"
            "handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)\n"
            "server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)\n"
            "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
            "print(server.server_address[1])",
            timeout=300,
        )
        assert not errors, errors
        port = int(stdout.strip())
        print(f"{'size':>8} {'result':>10} {'seconds':>8} {'MB/s':>7}")
        for size in args.sizes_mb:
            started = time.monotonic()
            received = 0
            try:
                with alice.http.get(alice.url(f"{path}/proxy/{port}/{size}MB"), stream=True, timeout=600) as response:
                    status = response.status_code
                    for chunk in response.iter_content(1 << 20):
                        received += len(chunk)
            except Exception as error:  # report and go on with the next size
                status = type(error).__name__
            seconds = time.monotonic() - started
            complete = status == 200 and received == size * 2**20
            result = "ok" if complete else f"{status}"
            print(f"{size:>6}MB {result:>10} {seconds:>8.1f} {received / 2**20 / seconds:>7.0f}")
    finally:
        kernel.close()
        alice.stop(SERVER)


if __name__ == "__main__":
    main()

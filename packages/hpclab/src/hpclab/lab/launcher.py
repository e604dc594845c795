"""hpclab-singleuser: first process of every JupyterLab server, on the node, as the user.

It sends the server's output to $WORK/jupyter_spawner_logs/ under a name that says
which server and job it is, sets MEM_LIMIT and CPU_LIMIT from the job's allocation
(the resource indicator shows them), keeps its runtime files on the node, fetches the
token of a SLURM server from the hub (hub_report.py), picks and reports its port, and starts the server command: in its
place, or in a sandbox when the hub asks for one (HPCLAB_SANDBOX=1), staying beside it
to forward signals, with the variables the user set in the form applied last
(hpclab.common.user_environment). A server that asked for the sandbox and cannot have
one does not start, and the hub is told why.

    hpclab-singleuser --kind slurm -- jupyterhub-singleuser
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from hpclab.common.sandbox import sandbox_requested
from hpclab.common.spawner_logs import LOG_DIR_NAME, log_file_name
from hpclab.common.upstream import UnsupportedVersion
from hpclab.common.user_environment import server_environment

from .hub_report import TokenUnavailable, fetch_token, free_port, report_port, report_startup_error, with_port
from .sandbox.network import Forwarding, Sandbox, SandboxUnavailable, check_support, hub_on_loopback
from .upstreams import check_all

_MIB = 1024 * 1024


def _positive_int(environment: Mapping[str, str], name: str) -> int:
    value = environment.get(name, "").split("(")[0]
    return int(value) if value.isdigit() and int(value) > 0 else 0


def allocation_limits(environment: Mapping[str, str]) -> dict[str, str]:
    """MEM_LIMIT (bytes) and CPU_LIMIT of a Slurm job, from the variables Slurm sets."""
    limits = {}
    cpus = _positive_int(environment, "SLURM_CPUS_PER_TASK") or _positive_int(environment, "SLURM_CPUS_ON_NODE")
    if cpus:
        limits["CPU_LIMIT"] = str(cpus)
    memory_mb = _positive_int(environment, "SLURM_MEM_PER_NODE")
    if not memory_mb and cpus:
        memory_mb = _positive_int(environment, "SLURM_MEM_PER_CPU") * cpus
    if memory_mb:
        limits["MEM_LIMIT"] = str(memory_mb * _MIB)
    return limits


def log_path(environment: Mapping[str, str], kind: str, now: float) -> Path:
    root = environment.get("WORK") or environment.get("HOME") or "/tmp"
    # The hub names Interactive runs (HPCLAB_RUN_TAG) so that its error page can point here.
    tag = (
        environment.get("SLURM_JOB_ID")
        or environment.get("HPCLAB_RUN_TAG")
        or time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    )
    return Path(root) / LOG_DIR_NAME / log_file_name(environment.get("JUPYTERHUB_SERVER_NAME", ""), kind, tag)


def private_runtime_dir(environment: Mapping[str, str]) -> str:
    """A directory of this node that only the user can read, for the server's runtime
    files: jupyter_server writes its token there, and the default one is in the home,
    which a shared file system carries across the network and keeps in its snapshots."""
    return tempfile.mkdtemp(prefix="jupyter-runtime-", dir=environment.get("TMPDIR") or None)


def prepare(environment: MutableMapping[str, str], kind: str, now: float) -> Path:
    """Set the limits the job was given (when the hub did not) and the runtime directory,
    and return the log file."""
    for name, value in allocation_limits(environment).items():
        environment.setdefault(name, value)
    environment["JUPYTER_RUNTIME_DIR"] = private_runtime_dir(environment)
    return log_path(environment, kind, now)


def redirect_output(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(descriptor, sys.stdout.fileno())
    os.dup2(descriptor, sys.stderr.fileno())
    os.close(descriptor)


def start_server(command: Sequence[str], environment: MutableMapping[str, str], kind: str) -> int:
    """Start the server; return only when it ran in a sandbox (its exit status) or failed."""
    sandboxed = sandbox_requested(environment)
    if kind == "slurm":
        try:
            fetch_token(environment)
        except TokenUnavailable as error:
            # Without its token the server can tell the hub nothing: the log says why.
            print(f"[hpclab] The server cannot start without its token: {error}", flush=True)
            return 1
        environment["JUPYTERHUB_SERVICE_URL"] = with_port(environment["JUPYTERHUB_SERVICE_URL"], free_port())
    try:
        check_all()
    except UnsupportedVersion as error:
        message = f"This cluster's Jupyter environment is one hpclab was not written for ({error}): tell its support."
        print(f"[hpclab] {message}", flush=True)
        report_startup_error(environment, message)
        return 1
    service = urlsplit(environment["JUPYTERHUB_SERVICE_URL"])
    sandbox = None
    if sandboxed:
        try:
            tools = check_support()
            hub_urls, outward_ports = hub_on_loopback(environment)
            forwarding = Forwarding(service.port or 0, service.hostname in ("127.0.0.1", "localhost"), outward_ports)
            sandbox = Sandbox.start(tools, forwarding, command, {**server_environment(environment), **hub_urls})
        except SandboxUnavailable as error:
            message = f"The sandbox cannot start: {error}. No server was started outside it."
            print(f"[hpclab] {message}", flush=True)
            report_startup_error(environment, message)
            return 1
    if kind == "slurm":
        report_port(environment, service.port or 0)
    if sandbox is None:
        # The user's variables last: the login shell and sudo have had their turn.
        os.execvpe(command[0], list(command), server_environment(environment))
    return sandbox.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hpclab-singleuser", description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["slurm", "interactive"], required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no server command given")
    path = prepare(os.environ, args.kind, time.time())
    redirect_output(path)
    print(
        f"[hpclab] {time.strftime('%Y-%m-%d %H:%M:%S')} {args.kind} server "
        f"{os.environ.get('JUPYTERHUB_SERVER_NAME') or 'default'} on {socket.gethostname()}"
        f" (job {os.environ.get('SLURM_JOB_ID', '-')}, MEM_LIMIT={os.environ.get('MEM_LIMIT', '-')},"
        f" CPU_LIMIT={os.environ.get('CPU_LIMIT', '-')}, sandbox={sandbox_requested(os.environ)})",
        flush=True,
    )
    sys.exit(start_server(command, os.environ, args.kind))


if __name__ == "__main__":
    main()

"""hpclab-module-kernel: start a kernel of an environment module.

    hpclab-module-kernel --module python/3.11-base -- python -m ipykernel_launcher -f CONN

Purges whatever modules the server has loaded, loads the kernel's module (Lmod's python
output applied to this process's environment), then replaces itself with the kernel's
command: one process, so interrupt and restart act on the kernel itself, and kernels of
different modules never share an environment. When the module cannot be loaded, a
kernel that answers every cell with the reason takes its place, so the notebook says why.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Mapping, MutableMapping, Sequence

LMOD_TIMEOUT = 120


class ModuleLoadError(Exception):
    pass


def lmod_environment_changes(environment: Mapping[str, str], *arguments: str) -> str:
    """Lmod's python code for `module <arguments>` run in the given environment; raises
    with Lmod's own message."""
    lmod_cmd = environment.get("LMOD_CMD")
    if not lmod_cmd:
        raise ModuleLoadError(f"Lmod is not available on {socket.gethostname()} (LMOD_CMD is not set)")
    try:
        result = subprocess.run(
            [lmod_cmd, "python", *arguments],
            env=dict(environment),
            capture_output=True,
            text=True,
            timeout=LMOD_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ModuleLoadError(f"Lmod could not run: {error}") from error
    if result.returncode != 0 or "_mlstatus = False" in result.stdout:
        raise ModuleLoadError(result.stderr.strip() or f"module {' '.join(arguments)} failed")
    return result.stdout


def apply_lmod_code(code: str, environment: MutableMapping[str, str]) -> None:
    """Run Lmod's python output against the given environment (it only sets and deletes
    os.environ entries; the code comes from the site's Lmod, not from the user)."""

    class _Os:
        environ = environment

    # Lmod's code starts with "import os", which would rebind the name to the real module.
    statements = "\n".join(line for line in code.splitlines() if line.strip() != "import os")
    exec(compile(statements, "<lmod>", "exec"), {"os": _Os, "__builtins__": __builtins__})


def load_module(module: str, environment: MutableMapping[str, str]) -> None:
    apply_lmod_code(lmod_environment_changes(environment, "purge"), environment)
    apply_lmod_code(lmod_environment_changes(environment, "load", module), environment)


def connection_file(argv: Sequence[str]) -> str | None:
    for flag in ("-f", "--f", "--ConnectionFileMixin.connection_file"):
        if flag in argv[:-1]:
            return argv[argv.index(flag) + 1]
    return None


def report_instead(message: str, argv: Sequence[str]) -> None:
    """Replace this process with a kernel that shows the message, or exit with it."""
    print(message, file=sys.stderr, flush=True)
    connection = connection_file(argv)
    if connection is None:
        sys.exit(1)
    os.execv(sys.executable, [sys.executable, "-m", "hpclab.lab.kernels.error_kernel", "-f", connection, message])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hpclab-module-kernel", description=__doc__.splitlines()[0])
    parser.add_argument("--module", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no kernel command given")
    try:
        load_module(args.module, os.environ)
    except ModuleLoadError as error:
        report_instead(f"The kernel's module {args.module} could not be loaded:\n{error}", command)
        return
    try:
        os.execvp(command[0], command)
    except OSError as error:
        report_instead(f"The kernel of module {args.module} could not start {command[0]}: {error.strerror}", command)


if __name__ == "__main__":
    main()

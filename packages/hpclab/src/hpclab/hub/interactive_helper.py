"""hpclab-interactive: starts and stops a user's Interactive server, as root.

The hub's service account may run this program, and no other, as root (sudoers, which
allows exactly the argument shapes below). It takes no settings from its caller: its
configuration is a root-owned file at a fixed path. It refuses accounts outside the
site's user uid range, users outside the allowed groups and odd names, and runs the
server as the user in a transient systemd service whose memory is capped by the kernel.
The server's environment (it holds the hub token) goes through a root-only file, never
through a command line that other users could read in /proc.

    hpclab-interactive start USER [SERVER] < environment.json
    hpclab-interactive stop USER [SERVER]
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

from hpclab.common.interactive_units import SERVER_NAME, unit_name

from .interactive import USER_NAME, legacy_unit_name
from .variables import CONTROL_CHARACTERS, VARIABLE_NAME

CONFIG_PATH = Path("/etc/hpclab/interactive.json")


class HelperError(Exception):
    pass


USAGE = "usage: hpclab-interactive start|stop USER [SERVER]"
CONFIG_KEYS = ("command", "memory_max_bytes", "allowed_groups", "min_uid", "max_uid", "environment_dir")


def parse_arguments(argv: list[str]) -> tuple[str, str, str]:
    """ACTION USER [SERVER], nothing else: no option can reach the helper."""
    if len(argv) not in (2, 3) or argv[0] not in ("start", "stop"):
        raise HelperError(USAGE)
    user, server = argv[1], argv[2] if len(argv) == 3 else ""
    if not USER_NAME.fullmatch(user) or not SERVER_NAME.fullmatch(server) or (len(argv) == 3 and not server):
        raise HelperError(f"unsupported user or server name: {user!r} {server!r}")
    return argv[0], user, server


def check_root_owned(path: Path) -> None:
    """The file and its directories belong to root and only root may change them."""
    for part in (path, *path.parents):
        status = part.stat()
        if status.st_uid != 0 or status.st_mode & 0o022:
            raise HelperError(f"{part} must belong to root and be writable by root only")


def load_config(path: Path) -> dict[str, Any]:
    check_root_owned(path)
    config = json.loads(path.read_text())
    for key in CONFIG_KEYS:
        if key not in config:
            raise HelperError(f"{path}: missing {key}")
    return config


def check_user(username: str, config: dict[str, Any]) -> pwd.struct_passwd:
    try:
        account = pwd.getpwnam(username)
    except KeyError as error:
        raise HelperError(f"no such user: {username}") from error
    if not config["min_uid"] <= account.pw_uid <= config["max_uid"]:
        raise HelperError(f"{username} is a system account")
    allowed = set(config["allowed_groups"])
    groups = {grp.getgrgid(gid).gr_name for gid in os.getgrouplist(username, account.pw_gid)}
    if not groups & allowed:
        raise HelperError(f"{username} is not in {', '.join(sorted(allowed)) or 'any allowed group'}")
    return account


def environment_file_text(environment: object) -> str:
    """systemd EnvironmentFile lines, each value double-quoted and escaped."""
    if not isinstance(environment, dict):
        raise HelperError("environment must be a JSON object")
    lines = []
    for name, value in sorted(environment.items()):
        if not VARIABLE_NAME.fullmatch(str(name)) or not isinstance(value, str) or CONTROL_CHARACTERS.search(value):
            raise HelperError(f"refusing variable {name!r}")
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{name}="{escaped}"')
    return "\n".join(lines) + "\n"


def _systemctl(*args: str) -> None:
    subprocess.run(["systemctl", *args], check=False, capture_output=True)


def stop(unit: str, env_file: Path) -> None:
    _systemctl("stop", unit)
    _systemctl("reset-failed", unit)
    env_file.unlink(missing_ok=True)


def start(account: pwd.struct_passwd, unit: str, env_file: Path, environment: object, config: dict[str, Any]) -> None:
    text = environment_file_text(environment)
    stop(unit, env_file)
    env_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    memory = str(config["memory_max_bytes"])
    # A login shell gives the server what users get at a terminal: $WORK, Lmod, ...
    command = ["/bin/bash", "-l", "-c", 'exec "$@"', "hpclab-singleuser", *config["command"]]
    subprocess.run(
        [
            "systemd-run",
            "--quiet",
            f"--unit={unit}",
            f"--uid={account.pw_name}",
            f"--gid={account.pw_gid}",
            "--property=Type=exec",
            f"--property=MemoryMax={memory}",
            "--property=MemorySwapMax=0",
            # The kernel kills the process that exceeds the cap; the server stays up.
            "--property=OOMPolicy=continue",
            f"--property=EnvironmentFile={env_file}",
            "--property=WorkingDirectory=~",
            f"--description=JupyterLab (Interactive) of {account.pw_name}",
            "--",
            *command,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def main(argv: list[str] | None = None) -> int:
    try:
        action, user, server = parse_arguments(sys.argv[1:] if argv is None else argv)
        config = load_config(CONFIG_PATH)
        account = check_user(user, config)
        unit = unit_name(account.pw_uid, server)
        env_file = Path(config["environment_dir"]) / f"{unit}.env"
        if action == "stop":
            stop(unit, env_file)
            legacy = legacy_unit_name(account.pw_name, server)
            stop(legacy, Path(config["environment_dir"]) / f"{legacy}.env")
        else:
            start(account, unit, env_file, json.load(sys.stdin), config)
    except (HelperError, ValueError, OSError) as error:
        print(f"hpclab-interactive: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"hpclab-interactive: systemd-run failed: {error.stderr.strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

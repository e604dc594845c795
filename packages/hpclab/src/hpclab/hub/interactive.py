"""Hub side of Interactive servers: JupyterLab on the login node, outside Slurm.

Each server is a transient systemd service with a kernel-enforced memory cap, started
as the user by the root helper (interactive_helper.py, the only command the hub may run
as root). The hub reads the unit's state with systemctl, which needs no privilege.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hpclab.common.interactive_units import UNIT_PREFIX

from .commands import CommandError, check_command, run_command

USER_NAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


def legacy_unit_name(username: str, server_name: str) -> str:
    """The name units had before they were named by uid: a server started then is still
    stopped by its name after the upgrade."""
    return f"{UNIT_PREFIX}-{username}-{server_name or 'default'}.service"


@dataclass(frozen=True)
class UnitState:
    active_state: str
    exit_status: int

    @property
    def running(self) -> bool:
        return self.active_state in ("active", "activating", "reloading")


class InteractiveServers:
    def __init__(self, helper_argv: Sequence[str], systemctl: str = "/usr/bin/systemctl") -> None:
        self._helper = list(helper_argv)
        self._systemctl = systemctl

    def _argv(self, action: str, username: str, server_name: str) -> list[str]:
        # The helper's sudoers rule allows exactly: ACTION USER [SERVER].
        return [*self._helper, action, username, *([server_name] if server_name else [])]

    async def start(self, username: str, server_name: str, environment: Mapping[str, str]) -> None:
        await check_command(
            self._argv("start", username, server_name), input_text=json.dumps(dict(environment)), timeout=60
        )

    async def stop(self, username: str, server_name: str) -> None:
        await check_command(self._argv("stop", username, server_name), timeout=60)

    async def state(self, unit: str) -> UnitState:
        """The unit's state; a unit systemd does not know is reported inactive."""
        result = await run_command([self._systemctl, "show", "--property=ActiveState,ExecMainStatus", unit], timeout=15)
        if result.returncode != 0:
            raise CommandError(f"systemctl show {unit}: {result.stderr.strip()}")
        fields = dict(line.partition("=")[::2] for line in result.stdout.splitlines() if "=" in line)
        status = fields.get("ExecMainStatus", "0")
        return UnitState(fields.get("ActiveState", "inactive"), int(status) if status.isdigit() else 0)

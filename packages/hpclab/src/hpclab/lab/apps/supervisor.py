"""The user's application processes: started from a definition and the dialog's input,
ready once they answer HTTP, reported with the tail of their own output when they fail,
stopped on request (the whole process group)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import AppDefinition
from .launch_input import LaunchInput

LOG_TAIL_LINES = 30
STOP_GRACE = 5.0
POLL = 0.2
SECRET_VARIABLE = "HPCLAB_APP_SECRET"


class AppStartError(Exception):
    def __init__(self, message: str, log_tail: str = "", log_path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail
        self.log_path = log_path


@dataclass
class Instance:
    app: AppDefinition
    endpoint: int
    process: asyncio.subprocess.Process
    arguments: tuple[str, ...]
    log_path: Path
    socket_path: str = ""
    port: int = 0
    # This launch's own secret (HPCLAB_APP_SECRET), for an app's own login: the URL
    # the launch answers may carry it ({secret} in open_path), never a command line.
    secret: str = ""
    started_at: float = field(default_factory=time.time)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def public(self) -> dict[str, object]:
        return {
            "app": self.app.name,
            "title": self.app.title,
            "endpoint": self.endpoint,
            "arguments": list(self.arguments),
            "pid": self.process.pid,
            "started": self.started_at,
            "log": str(self.log_path),
        }


def private_network_command(socket_path: str, port: int, command: list[str]) -> list[str]:
    """The command run in a network namespace of its own, reachable through socket_path
    (see private_network.py); no privilege needed: a user namespace maps the user."""
    return [
        "unshare",
        "--user",
        # The user stays themself inside (tools that think they are root misbehave);
        # the namespace's capabilities are kept so that loopback can be brought up.
        "--map-current-user",
        "--keep-caps",
        "--net",
        "--",
        sys.executable,
        "-m",
        "hpclab.lab.apps.private_network",
        f"--socket={socket_path}",
        f"--port={port}",
        "--",
        *command,
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as stream:
            stream.seek(0, os.SEEK_END)
            stream.seek(max(0, stream.tell() - 64 * 1024))
            text = stream.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


async def answers_http(socket_path: str, port: int, path: str) -> bool:
    """Whether something answers an HTTP request there (any status counts)."""
    try:
        if socket_path:
            reader, writer = await asyncio.open_unix_connection(socket_path)
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        return status.startswith(b"HTTP/")
    except (TimeoutError, OSError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Supervisor:
    def __init__(
        self,
        runtime_dir: Path,
        log_dir: Path,
        log_name: Callable[[str, int], str],
        url_prefix: Callable[[str, int], str],
        root_dir: str,
        server_environment: Mapping[str, str],
    ) -> None:
        self.runtime_dir = runtime_dir
        self.log_dir = log_dir
        self.log_name = log_name
        self.url_prefix = url_prefix
        self.root_dir = root_dir
        self.server_environment = server_environment
        self.instances: dict[tuple[str, int], Instance] = {}
        self.failures: dict[tuple[str, int], AppStartError] = {}

    def running(self) -> list[Instance]:
        for key, instance in list(self.instances.items()):
            if not instance.alive:
                del self.instances[key]
        return list(self.instances.values())

    def instance(self, app: str, endpoint: int) -> Instance | None:
        instance = self.instances.get((app, endpoint))
        return instance if instance and instance.alive else None

    def _workdir(self, app: AppDefinition, environment: Mapping[str, str]) -> str:
        if not app.workdir_variable:
            return self.root_dir
        directory = environment.get(app.workdir_variable) or environment.get("HOME") or self.root_dir
        if not os.path.isdir(directory):
            raise AppStartError(f"{app.workdir_variable}={directory} is not a directory")
        return directory

    async def start(self, app: AppDefinition, endpoint: int, launch: LaunchInput) -> Instance:
        key = (app.name, endpoint)
        await self.stop(app.name, endpoint)
        self.failures.pop(key, None)
        try:
            instance = await self._start(app, endpoint, launch)
        except AppStartError as error:
            self.failures[key] = error
            raise
        self.instances[key] = instance
        return instance

    async def _start(self, app: AppDefinition, endpoint: int, launch: LaunchInput) -> Instance:
        secret = secrets.token_urlsafe(6)
        # What an app keeps for itself goes to the server's private directory, not /tmp:
        # there the user's umask decides who may connect to its sockets (code-server's IPC
        # hooks), and another user can plant files where it looks for them under
        # predictable names (Node's compile cache, which it runs as the user's code).
        runtime = {"XDG_RUNTIME_DIR": str(self.runtime_dir), "TMPDIR": str(self.runtime_dir)}
        environment = {
            **self.server_environment,
            **runtime,
            **app.environment,
            **launch.environment,
            SECRET_VARIABLE: secret,
        }
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        private = app.listens_on_port and app.private_network
        socket_path = str(self.runtime_dir / f"{app.name}-{endpoint}.sock") if app.listens_on_socket or private else ""
        if socket_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(socket_path)
        port = free_port() if app.listens_on_port else 0
        prefix = self.url_prefix(app.name, endpoint)
        values = {"socket": socket_path, "port": str(port), "prefix": prefix, "home": environment.get("HOME", "")}
        command = [word.format(**values) for word in app.command] + list(launch.arguments)
        executable = shutil.which(command[0], path=environment.get("PATH"))
        log_path = self.log_dir / self.log_name(app.name, endpoint)
        if executable is None:
            help_text = app.missing_help or "load the module that provides it (Lmod panel), then launch again"
            raise AppStartError(f"{command[0]} is not installed on {socket.gethostname()}: {help_text}", "", "")
        workdir = self._workdir(app, environment)
        if private:
            command = private_network_command(socket_path, port, [executable, *command[1:]])
            executable, port = command[0], 0
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, f"[hpclab] {time.strftime('%Y-%m-%d %H:%M:%S')} {command!r} in {workdir}\n".encode())
            process = await asyncio.create_subprocess_exec(
                executable,
                *command[1:],
                cwd=workdir,
                env=environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=descriptor,
                stderr=descriptor,
                start_new_session=True,
            )
        finally:
            os.close(descriptor)
        instance = Instance(app, endpoint, process, launch.arguments, log_path, socket_path, port, secret)
        await self._wait_until_ready(instance, prefix + "/")
        return instance

    async def _wait_until_ready(self, instance: Instance, path: str) -> None:
        deadline = time.monotonic() + instance.app.timeout
        while time.monotonic() < deadline:
            if not instance.alive:
                raise AppStartError(
                    f"{instance.app.title} exited with status {instance.process.returncode} before answering",
                    log_tail(instance.log_path),
                    str(instance.log_path),
                )
            if await answers_http(instance.socket_path, instance.port, path):
                return
            await asyncio.sleep(POLL)
        await self._terminate(instance)
        raise AppStartError(
            f"{instance.app.title} did not answer within {instance.app.timeout:.0f} s",
            log_tail(instance.log_path),
            str(instance.log_path),
        )

    async def stop(self, app: str, endpoint: int) -> bool:
        instance = self.instances.pop((app, endpoint), None)
        if instance is None or not instance.alive:
            return False
        await self._terminate(instance)
        return True

    async def stop_all(self) -> None:
        for app, endpoint in list(self.instances):
            await self.stop(app, endpoint)

    async def _terminate(self, instance: Instance) -> None:
        for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, STOP_GRACE)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(instance.process.pid, sig)
            try:
                await asyncio.wait_for(instance.process.wait(), wait)
                break
            except TimeoutError:
                continue
        if instance.socket_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(instance.socket_path)

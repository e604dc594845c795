"""Running cluster commands from the hub: argv lists only, never a shell."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class CommandError(RuntimeError):
    """A command failed, timed out or could not be started; the message says which."""


class CommandTimedOut(CommandError):
    """A command was stopped before it answered: what it was doing may have been done."""


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


async def run_command(
    argv: Sequence[str],
    *,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> CommandResult:
    """Run argv and return its outcome; raise CommandError only when it cannot finish."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
        )
    except OSError as error:
        raise CommandError(f"{argv[0]}: {error.strerror}") from error
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancel that
        # lands as the command ends, and an interrupted start would go on.
        async with asyncio.timeout(timeout):
            stdout, stderr = await process.communicate(input_text.encode() if input_text is not None else None)
    except TimeoutError as error:
        await _stop(process)
        raise CommandTimedOut(f"{argv[0]} did not answer within {timeout:g} s") from error
    except asyncio.CancelledError:
        # An interrupted start (a logout) leaves no command behind.
        await asyncio.shield(_stop(process))
        raise
    return CommandResult(process.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


STOP_GRACE_SECONDS = 5.0


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM first: sudo passes it on to the command it runs, and cannot pass on a
    SIGKILL, which would leave that command (an sbatch, the root helper) going on."""
    _signal(process, signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_GRACE_SECONDS):
            await process.wait()
    except TimeoutError:
        _signal(process, signal.SIGKILL)
        await process.wait()


def _signal(process: asyncio.subprocess.Process, signum: int) -> None:
    # The command may have ended since its last output: nothing is left to signal.
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signum)


async def check_command(argv: Sequence[str], **kwargs: object) -> str:
    """Run argv and return its standard output; raise CommandError when it fails."""
    result = await run_command(argv, **kwargs)  # type: ignore[arg-type]
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        raise CommandError(f"{argv[0]}: {detail}")
    return result.stdout

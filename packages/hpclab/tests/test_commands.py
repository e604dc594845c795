"""Cluster commands run from the hub: a command interrupted at any moment (a logout, a
hub stopping) is never reported as finished and leaves no process behind."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from hpclab.hub.commands import CommandError, check_command, run_command

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_command_gives_its_output_and_exit_status():
    result = asyncio.run(
        run_command([sys.executable, "-c", "import sys; print(input()); sys.exit(3)"], input_text="hi\n")
    )
    assert (result.returncode, result.stdout) == (3, "hi\n")


def test_a_failing_command_says_why():
    with pytest.raises(CommandError, match="no-such-file"):
        asyncio.run(check_command([sys.executable, "-c", "import sys; sys.exit('no-such-file')"]))


def test_a_command_that_does_not_answer_is_killed():
    async def scenario() -> set[int]:
        with pytest.raises(CommandError, match=r"did not answer within 0\.2 s"):
            await run_command(SLEEPER, timeout=0.2)
        return _children()

    assert asyncio.run(scenario()) == set()


def test_an_interrupted_command_is_never_reported_as_finished():
    """A cancel that lands as the command ends must still interrupt its caller: a logout
    that interrupts a start must not see the start go on (asyncio.wait_for on Python
    3.11 returns the result and drops the cancel in that case)."""

    async def lost_cancel(steps: int) -> bool:
        task = asyncio.create_task(run_command(["true"]))
        for _ in range(steps):
            await asyncio.sleep(0)
        if not task.cancel():
            return False  # it had finished: nothing to interrupt
        try:
            await task
        except asyncio.CancelledError:
            return False
        return True

    async def steps_losing_the_cancel() -> list[int]:
        return [steps for steps in range(300) if await lost_cancel(steps)]

    assert asyncio.run(steps_losing_the_cancel()) == []


def test_an_interrupted_command_leaves_no_process():
    async def scenario() -> int:
        task = asyncio.create_task(run_command(SLEEPER))
        await asyncio.sleep(0.5)
        children = _children()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return len(children & _children())

    assert asyncio.run(scenario()) == 0


RELAYING_PARENT = [
    sys.executable,
    "-c",
    # What sudo does: run the command as a child and pass SIGTERM on to it (it cannot
    # pass on SIGKILL).
    "import signal, subprocess, sys\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "signal.signal(signal.SIGTERM, lambda *_: child.terminate())\n"
    "sys.exit(child.wait())\n",
]


def test_an_interrupted_command_behind_sudo_leaves_no_process():
    """The hub runs sbatch and the root helper through sudo: killing sudo would leave
    the command it runs going on (an sbatch that submits a job nobody tracks)."""

    async def scenario() -> list[int]:
        task = asyncio.create_task(run_command(RELAYING_PARENT))
        await asyncio.sleep(1)
        commands = _descendants()
        task.cancel()
        # Not awaited to its end: with the command's pipes still open it would wait out
        # the command.
        await asyncio.wait({task}, timeout=10)
        left = [pid for pid in commands if _state(pid) != "Z"]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(asyncio.CancelledError):
            await task
        return left

    assert asyncio.run(scenario()) == []


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def _descendants() -> set[int]:
    found: set[int] = set()
    parents = {os.getpid()}
    while parents:
        children = {pid for parent in parents for pid in _children_of(parent)} - found
        found |= children
        parents = children
    return found


def _children() -> set[int]:
    return _children_of(os.getpid())


def _children_of(parent: int) -> set[int]:
    me = str(parent)
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[1] == me:
                        found.add(int(entry))
            except OSError:
                continue
    return found

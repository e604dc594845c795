"""Cluster commands run from the hub: a command interrupted at any moment (a logout, a
hub stopping) is never reported as finished and leaves no process behind."""

from __future__ import annotations

import asyncio
import os
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


def _children() -> set[int]:
    me = str(os.getpid())
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

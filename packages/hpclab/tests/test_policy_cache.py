"""The policy cache: one round of Slurm calls for every user, none for a warm form, a
refresh behind the readers once stale, and what is kept when Slurm does not answer."""

from __future__ import annotations

import asyncio

import pytest
from policy_samples import ASSOCIATIONS, PARTITIONS, QOS, RESERVATIONS, SINFO, USERS

from hpclab.hub.commands import CommandError, CommandResult
from hpclab.hub.policy_cache import PolicyCache

ANSWERS = {
    "config": "ClusterName = hpclab-demo\n",
    "sinfo": SINFO,
    "partition": PARTITIONS,
    "reservation": RESERVATIONS,
    "association": ASSOCIATIONS,
    "qos": QOS,
    "user": USERS,
}


class FakeSlurm:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.down: set[str] = set()
        self.delay = 0.0

    async def run(self, argv: list[str], timeout: float) -> CommandResult:
        self.calls.append(argv)
        await asyncio.sleep(self.delay)
        topic = next(topic for topic in ANSWERS if topic in argv or argv[0].endswith(topic))
        if topic in self.down or argv[0].split("/")[-1] in self.down:
            return CommandResult(1, "", "Unable to contact slurm controller")
        return CommandResult(0, ANSWERS[topic], "")


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def cache(slurm: FakeSlurm, clock: Clock) -> PolicyCache:
    return PolicyCache("/usr/bin", 60, run=slurm.run, clock=clock)


def test_one_round_of_calls_serves_every_user_and_a_warm_form_costs_none():
    slurm, clock = FakeSlurm(), Clock()

    async def scenario():
        policies = cache(slurm, clock)
        first = await policies.get()
        calls = len(slurm.calls)
        for _ in range(100):
            for user in ("alice", "bob", "carol"):
                (await policies.get()).for_user(user)
        return first, calls, policies.calls

    first, calls, counted = asyncio.run(scenario())
    assert calls == counted == 7  # scontrol show config once, then six reads
    assert len(slurm.calls) == 7
    assert sorted(first.for_user("alice").associations) == ["astro", "climate"]
    # The accounting database is asked about its own cluster only.
    [association] = [argv for argv in slurm.calls if "association" in argv]
    assert "cluster=hpclab-demo" in association


def test_readers_that_arrive_together_share_the_first_reading():
    slurm, clock = FakeSlurm(), Clock()
    slurm.delay = 0.05

    async def scenario():
        policies = cache(slurm, clock)
        await asyncio.gather(*(policies.get() for _ in range(20)))

    asyncio.run(scenario())
    assert len(slurm.calls) == 7


def test_a_stale_policy_is_served_while_one_refresh_runs_behind():
    slurm, clock = FakeSlurm(), Clock()

    async def scenario():
        policies = cache(slurm, clock)
        first = await policies.get()
        clock.now = 61
        slurm.delay = 0.05
        stale = [await policies.get() for _ in range(10)]
        await asyncio.sleep(0.2)
        return first, stale, await policies.get()

    first, stale, fresh = asyncio.run(scenario())
    assert all(policy is first for policy in stale)
    assert fresh is not first
    assert len(slurm.calls) == 7 + 6  # one refresh, without the cluster name again


def test_without_an_accounting_database_accounts_are_not_offered():
    slurm, clock = FakeSlurm(), Clock()
    slurm.down = {"sacctmgr"}
    policy = asyncio.run(cache(slurm, clock).get())
    assert policy.accounting is None
    assert not policy.for_user("alice").knows_accounts
    assert "cpu" in policy.partitions


def test_a_database_that_stops_answering_keeps_the_accounts_read_before():
    slurm, clock = FakeSlurm(), Clock()

    async def scenario():
        policies = cache(slurm, clock)
        await policies.get()
        slurm.down = {"sacctmgr"}
        clock.now = 61
        await policies.get()
        await asyncio.sleep(0.05)
        return await policies.get()

    policy = asyncio.run(scenario())
    assert sorted(policy.for_user("alice").associations) == ["astro", "climate"]


def test_a_controller_that_does_not_answer_at_first_is_an_error_and_later_keeps_the_last_policy():
    slurm, clock = FakeSlurm(), Clock()
    slurm.down = {"sinfo"}

    async def scenario():
        policies = cache(slurm, clock)
        with pytest.raises(CommandError, match="Unable to contact slurm controller"):
            await policies.get()
        slurm.down = set()
        first = await policies.get()
        slurm.down = {"sinfo"}
        clock.now = 1000
        await policies.get()
        await asyncio.sleep(0.05)
        calls = len(slurm.calls)
        # Until a ttl has passed, forms do not try again.
        later = [await policies.get() for _ in range(10)]
        await asyncio.sleep(0.05)
        return first, later, len(slurm.calls) - calls

    first, later, retries = asyncio.run(scenario())
    assert all(policy is first for policy in later)
    assert retries == 0

"""The hub's one squeue for all its jobs: what counts as an answer, and how often it asks."""

from __future__ import annotations

import asyncio

import pytest

from hpclab.hub.commands import CommandError, CommandResult
from hpclab.hub.job_poller import JobPoller, Presence


class FakeSqueue:
    """Answers as squeue would for the jobs it holds; can fail, hang or garble."""

    def __init__(self, jobs: dict[str, str] | None = None) -> None:
        self.jobs = jobs or {}
        self.calls: list[list[str]] = []
        self.failure: CommandResult | None = None
        self.hang = False
        self.garbled = False
        self.names: dict[str, str] = {}

    async def __call__(self, argv: list[str], timeout: float) -> CommandResult:
        self.calls.append(argv)
        await asyncio.sleep(0.01)
        if self.hang:
            raise CommandError(f"{argv[0]} did not answer within {timeout:g} s")
        if self.failure is not None:
            return self.failure
        if self.garbled:
            return CommandResult(0, "<html>proxy error</html>\n", "")
        wanted = next(arg for arg in argv if arg.startswith("--jobs=")).removeprefix("--jobs=").split(",")
        mark = next(arg for arg in argv if arg.startswith("--format=")).removeprefix("--format=").partition("%i")[0]
        lines = [
            f"{mark}{job}|{self.jobs[job]}|None|cn1|10:00|N/A|N/A|30:00|{self.names.get(job, 'jupyterhub-x')}"
            for job in wanted
            if job in self.jobs
        ]
        if not lines and len(wanted) == 1:
            return CommandResult(1, "", "slurm_load_jobs error: Invalid job id specified\n")
        return CommandResult(0, "\n".join(lines) + "\n", "")


def poller(squeue: FakeSqueue, **settings: float) -> JobPoller:
    return JobPoller(
        "/usr/bin/squeue", squeue, **{"interval": 3600, "jitter": 0.2, "timeout": 20, "min_gap": 0, **settings}
    )


def test_one_call_answers_for_every_job():
    async def scenario():
        squeue = FakeSqueue({str(job): "RUNNING" for job in range(100, 150)})
        jobs = poller(squeue)
        for job in squeue.jobs:
            jobs.watch(job)
        await jobs.fresh_report("100")
        return squeue, jobs

    squeue, jobs = asyncio.run(scenario())
    assert len(squeue.calls) == 1
    assert "--jobs=" + ",".join(str(job) for job in range(100, 150)) in squeue.calls[0]
    assert {jobs.report(str(job)).presence for job in range(100, 150)} == {Presence.RUNNING}


@pytest.mark.parametrize("trouble", ["hang", "failure", "garbled"])
def test_no_answer_makes_jobs_unknown_never_ended(trouble):
    async def scenario():
        squeue = FakeSqueue({"7": "RUNNING", "8": "PENDING"})
        jobs = poller(squeue)
        jobs.watch("7")
        jobs.watch("8")
        await jobs.poll_once()
        setattr(squeue, trouble, CommandResult(1, "", "Unable to contact slurm controller\n"))
        if trouble != "failure":
            setattr(squeue, trouble, True)
        await jobs.poll_once()
        during = (jobs.report("7"), jobs.report("8"))
        squeue.hang, squeue.failure, squeue.garbled = False, None, False
        await jobs.poll_once()
        return during, jobs.report("7")

    (seven, eight), after = asyncio.run(scenario())
    assert (seven.presence, eight.presence) == (Presence.UNKNOWN, Presence.UNKNOWN)
    # The last known state stays at hand (node, time left) while Slurm is silent.
    assert seven.state.node == "cn1"
    assert after.presence is Presence.RUNNING


def test_a_job_ends_only_when_slurm_says_so():
    async def scenario():
        squeue = FakeSqueue({"7": "RUNNING", "8": "RUNNING", "9": "RUNNING"})
        jobs = poller(squeue)
        for job in ("7", "8", "9"):
            jobs.watch(job)
        await jobs.poll_once()
        squeue.jobs = {"7": "TIMEOUT", "8": "RUNNING"}
        await jobs.poll_once()
        return jobs

    jobs = asyncio.run(scenario())
    assert jobs.report("7").presence is Presence.ENDED
    assert jobs.report("7").ended == "Slurm job 7 ended: time limit reached (00:30:00)"
    assert jobs.report("8").presence is Presence.RUNNING
    assert jobs.report("9").ended == "Slurm job 9 has left the queue"


def test_a_single_job_slurm_calls_invalid_has_ended():
    async def scenario():
        squeue = FakeSqueue({})
        jobs = poller(squeue)
        return await jobs.fresh_report("41")

    assert asyncio.run(scenario()).presence is Presence.ENDED


def test_fresh_requests_share_calls_that_stay_min_gap_apart():
    async def scenario():
        squeue = FakeSqueue({str(job): "PENDING" for job in range(20)})
        jobs = poller(squeue, min_gap=0.2)
        # 20 spawns asking five times each, as starting servers do.
        for _ in range(5):
            reports = await asyncio.gather(*(jobs.fresh_report(str(job)) for job in range(20)))
        return squeue, reports

    squeue, reports = asyncio.run(scenario())
    assert {report.presence for report in reports} == {Presence.PENDING}
    # One call per round of requests at most (plus the first one's), not one per request.
    assert len(squeue.calls) <= 6


def test_the_loop_asks_on_its_own_and_stops_with_nothing_to_watch():
    async def scenario():
        squeue = FakeSqueue({"7": "RUNNING"})
        jobs = poller(squeue, interval=0.02, jitter=0.5)
        jobs.watch("7")
        await asyncio.sleep(0.3)
        asked = len(squeue.calls)
        jobs.forget("7")
        await asyncio.sleep(0.1)
        return asked, len(squeue.calls) - asked

    asked, after_forgetting = asyncio.run(scenario())
    assert asked >= 3
    assert after_forgetting <= 1


def test_a_job_name_with_a_forged_line_cannot_end_another_users_server():
    # bob renames his own server's job (scontrol update JobName=...): Slurm keeps the
    # newline and squeue prints it raw, a line that claims alice's running job ended.
    squeue = FakeSqueue({"100": "RUNNING", "200": "RUNNING"})
    squeue.names["200"] = "x\n100|COMPLETED|None|cn1|0:00|N/A|N/A|30:00|jupyterhub-alice"

    async def scenario():
        jobs = poller(squeue)
        jobs.watch("100")
        jobs.watch("200")
        return await jobs.fresh_report("100")

    report = asyncio.run(scenario())
    assert report.presence is Presence.RUNNING

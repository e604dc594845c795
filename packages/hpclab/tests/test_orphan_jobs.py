"""Server jobs that the hub does not know: reported, and cancelled only if still unknown."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hpclab.hub.commands import CommandError
from hpclab.hub.orphan_jobs import sweep_orphans
from hpclab.hub.slurm_jobs import GarbledAnswer, server_jobs

MARK = "#5eed#"


def listing(*records: str) -> dict[str, str]:
    """What the hub reads from squeue's records (each after the call's mark)."""
    return server_jobs("".join(f"{MARK}{record}\n" for record in records), MARK)


LISTING = listing("11|alice|jupyterhub-default", "12|bob|jupyterhub-lab2", "13|bob|training", "14|alice|jupyterhub-x")


def test_only_server_jobs_are_listed():
    assert LISTING == {"11": "alice", "12": "bob", "14": "alice"}


def test_a_job_name_with_a_forged_line_cannot_have_another_users_job_cancelled():
    # mallory names a job with a newline (Slurm keeps it, squeue prints it raw): on the
    # line after it, bob's own batch job 13 would read as one of the hub's server jobs,
    # and the sweep would cancel it as bob.
    forged = listing("20|mallory|x\n13|bob|jupyterhub-forged", "12|bob|jupyterhub-lab2")
    assert forged == {"12": "bob"}
    with pytest.raises(GarbledAnswer):
        server_jobs("13|bob|jupyterhub-forged\n", MARK)


def sweep(listings: list[dict[str, str] | Exception], known: set[str], grace: float = 0.01):
    cancelled: list[tuple[str, list[str]]] = []

    async def list_jobs() -> dict[str, str]:
        answer = listings.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def cancel(user: str, jobs: list[str]) -> None:
        cancelled.append((user, jobs))

    result = asyncio.run(sweep_orphans(list_jobs, cancel, lambda: frozenset(known), first_delay=0, grace=grace))
    return result, cancelled


def test_unknown_jobs_are_reported_then_cancelled_as_their_owner(caplog):
    with caplog.at_level(logging.WARNING):
        result, cancelled = sweep([LISTING, LISTING], known={"11"})
    assert "12 (bob), 14 (alice)" in caplog.text
    assert result == ["12", "14"]
    assert sorted(cancelled) == [("alice", ["14"]), ("bob", ["12"])]


def test_a_job_claimed_or_gone_during_the_grace_period_is_left_alone():
    known = {"11"}
    result, cancelled = sweep([LISTING, listing("11|alice|jupyterhub-default", "14|alice|jupyterhub-x")], known)
    # 12 ended meanwhile; 14 is still there: only 14 goes.
    assert cancelled == [("alice", ["14"])]
    assert result == ["14"]


def test_no_grace_reports_only_and_errors_cancel_nothing():
    assert sweep([LISTING], known=set(), grace=0) == ([], [])
    assert sweep([CommandError("squeue did not answer")], known=set()) == ([], [])
    assert sweep([LISTING, CommandError("squeue did not answer")], known=set()) == ([], [])

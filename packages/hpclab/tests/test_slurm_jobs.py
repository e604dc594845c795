"""Reading squeue and scontrol answers, and Slurm durations."""

from __future__ import annotations

import pytest

from hpclab.hub.slurm_jobs import (
    JobState,
    describe_end,
    describe_finished_job,
    expand_hostlist,
    forgotten_job,
    parse_job_facts,
    parse_scontrol_record,
    parse_squeue_line,
    submitted_job_id,
)
from hpclab.hub.slurm_time import SlurmTimeError, format_slurm_time, parse_slurm_time


def test_pending_job_says_why_it_waits():
    state = parse_squeue_line("PENDING|Resources||1:00:00|N/A|N/A|1:00:00|jupyterhub-x")
    assert state.pending
    assert state.describe("12") == "Slurm job 12 is pending in the queue (Resources)"


def test_pending_job_gives_its_expected_start():
    state = parse_squeue_line("PENDING|Resources||1:00:00|2026-12-07T14:30:00|2026-12-07T15:30:00|1:00:00|jupyterhub-x")
    assert (
        state.describe("12") == "Slurm job 12 is pending in the queue (Resources); expected start 2026-12-07 14:30:00"
    )


def test_running_job_names_its_node():
    state = parse_squeue_line("RUNNING|None|cn2|59:58|2026-12-07T13:30:00|2026-12-07T14:30:00|1:00:00|jupyterhub-x")
    assert state.running
    assert state.node == "cn2"
    assert (state.end_time, state.time_limit) == ("2026-12-07T14:30:00", "1:00:00")


@pytest.mark.parametrize(
    ("line", "reached"),
    [
        # Killed at the limit.
        ("TIMEOUT|TimeLimit|cn2|0:00|2026-12-07T13:00:00|2026-12-07T14:00:30|1:00:00|j", True),
        # Stopped itself on Slurm's notice, 40 s before the limit.
        ("COMPLETED|None|cn2|0:00|2026-12-07T13:00:00|2026-12-07T13:59:20|1:00:00|j", True),
        # Shut down by its user half-way.
        ("COMPLETED|None|cn2|0:00|2026-12-07T13:00:00|2026-12-07T13:30:00|1:00:00|j", False),
        ("FAILED|NonZeroExitCode|cn2|0:00|2026-12-07T13:00:00|2026-12-07T13:59:50|1:00:00|j", False),
        ("COMPLETED|None|cn2|0:00|Unknown|2026-12-07T13:59:50|1:00:00|j", False),
    ],
)
def test_a_job_that_reached_its_time_limit_says_so(line, reached):
    state = parse_squeue_line(line)
    assert state.reached_time_limit is reached
    assert ("time limit reached (01:00:00)" in describe_end("7", state)) is reached


def test_empty_answer_is_no_job():
    assert parse_squeue_line("") is None


def test_finished_job_description():
    record = parse_scontrol_record("JobId=12 JobName=jupyterhub-x JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0")
    assert describe_finished_job("12", record) == "Slurm job 12 ended: FAILED (reason: NonZeroExitCode, exit code 1:0)"
    assert describe_finished_job("13", {}) == "Slurm job 13 has left the queue"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 1800), ("30:15", 1815), ("4:00:00", 14400), ("1-00", 86400), ("1-02:03", 93780), ("2-00:00:01", 172801)],
)
def test_slurm_times(text, seconds):
    assert parse_slurm_time(text) == seconds


def test_unlimited_and_bad_times():
    assert parse_slurm_time("UNLIMITED") is None
    with pytest.raises(SlurmTimeError):
        parse_slurm_time("1h")


def test_format():
    assert format_slurm_time(3600) == "01:00:00"
    assert format_slurm_time(90061) == "1-01:01:01"
    assert format_slurm_time(-5) == "00:00:00"


def test_one_wording_for_an_ended_job_whichever_answer_told_it():
    polled = describe_end("12", JobState("FAILED", "NonZeroExitCode", "cn1", "0:00"))
    recorded = describe_finished_job("12", {"JobState": "FAILED", "Reason": "NonZeroExitCode", "ExitCode": "0:0"})
    assert polled == recorded == "Slurm job 12 ended: FAILED (reason: NonZeroExitCode)"
    assert describe_end("12", None) == describe_finished_job("12", {}) == "Slurm job 12 has left the queue"


@pytest.mark.parametrize(
    ("output", "job_id"),
    [("42\n", "42"), ("42;cluster1\n", "42"), ("sbatch: error: Batch job submission failed", None)],
)
def test_sbatch_job_id(output, job_id):
    assert submitted_job_id(output) == job_id


def test_a_job_squeue_forgot_is_an_answer_other_errors_are_not():
    assert forgotten_job("slurm_load_jobs error: Invalid job id specified\n")
    assert not forgotten_job("slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n")


def test_job_facts_are_read_from_fixed_fields_whatever_the_job_is_named():
    """scontrol prints a renamed job's name before its real fields: a name holding
    "QOS=normal TimeLimit=11:00:00" would pass for them. squeue's fields come first here."""
    mark = "#m#"
    forged = "jupyterhub-qd Account=x QOS=x Partition=cpu TimeLimit=11:00:00"
    answer = f"{mark}415|RUNNING|alice|visu|astro|dev|10:00|cn2|2026-12-08T01:10:00|(null)|{forged}\n"
    facts = parse_job_facts(answer, mark)["415"]
    assert (facts.partition, facts.account, facts.qos, facts.time_limit) == ("visu", "astro", "dev", "10:00")
    assert (facts.user, facts.nodes, facts.reservation) == ("alice", "cn2", "")


@pytest.mark.parametrize(
    ("hostlist", "names"),
    [
        ("cn2", ["cn2"]),
        ("cn[1-3,7],login01", ["cn1", "cn2", "cn3", "cn7", "login01"]),
        ("n[08-10]", ["n08", "n09", "n10"]),
        ("", []),
        ("cn[a-b]", None),
    ],
)
def test_slurm_host_lists(hostlist, names):
    assert expand_hostlist(hostlist) == names

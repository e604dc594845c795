"""What the hub knows of Slurm's answers about jobs: sbatch's job id, job states, squeue
lines and refusals, scontrol records, which jobs are servers', and the words for a job
that ended. The poller, the orphan sweep, logout, the SLURM kind and the spawn page read
Slurm's answers about jobs through here (the partitions' sinfo is cluster.py's)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from hpclab.common.session import TIME_LIMIT_NOTICE_S

from .batch_script import JOB_NAME_PREFIX
from .slurm_time import SlurmTimeError, format_slurm_time, parse_slurm_time

# squeue --format: state, reason, node list, time left, start time (for a pending job the
# scheduler's expected start, as squeue --start shows it), end time (a running job's
# scheduled end, which follows its time limit), time limit, job name (| never occurs
# before the name).
SQUEUE_FORMAT = "%T|%r|%N|%L|%S|%e|%l|%j"
_UNKNOWN_TIMES = ("", "N/A", "Unknown", "None")

# Every state squeue can print (squeue(1), JOB STATE CODES); anything else is garbled.
SLURM_STATES = frozenset(
    {
        "BOOT_FAIL", "CANCELLED", "COMPLETED", "COMPLETING", "CONFIGURING", "DEADLINE", "FAILED",
        "NODE_FAIL", "OUT_OF_MEMORY", "PENDING", "PREEMPTED", "RESV_DEL_HOLD", "REQUEUE_FED",
        "REQUEUE_HOLD", "REQUEUED", "RESIZING", "REVOKED", "RUNNING", "SIGNALING", "SPECIAL_EXIT",
        "STAGE_OUT", "STOPPED", "SUSPENDED", "TIMEOUT",
    }
)  # fmt: skip
PENDING_STATES = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING"})
# Where a job that ran goes back to when Slurm requeues it (a suspended one stays on its node).
QUEUED_AGAIN_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED"})


@dataclass(frozen=True)
class JobState:
    state: str
    reason: str
    node: str
    time_left: str
    # Slurm's ISO time (2026-12-07T14:30:00) of the expected start of a pending job ("" unknown).
    start_time: str = ""
    # A running job's scheduled end, an ended job's end ("" unknown).
    end_time: str = ""
    # The job's time limit as Slurm prints it ("" unknown).
    time_limit: str = ""

    @property
    def queued_again(self) -> bool:
        """Of a job that ran: back in the queue, its processes gone."""
        return self.state in QUEUED_AGAIN_STATES

    @property
    def reached_time_limit(self) -> bool:
        """Killed at its limit, or completed close to it: the server stops itself just
        before the limit on Slurm's notice (hpclab.common.session)."""
        if self.state == "TIMEOUT":
            return True
        if self.state != "COMPLETED":
            return False
        limit = _seconds(self.time_limit)
        ran = _elapsed(self.start_time, self.end_time)
        return limit is not None and ran is not None and ran >= limit - TIME_LIMIT_NOTICE_S

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    def describe(self, job_id: str) -> str:
        """What the spawn page shows while the job waits or starts."""
        if self.pending:
            reason = f" ({self.reason})" if self.reason and self.reason != "None" else ""
            start = f"; expected start {self.start_time.replace('T', ' ')}" if self.start_time else ""
            return f"Slurm job {job_id} is {self.state.lower()} in the queue{reason}{start}"
        if self.running:
            return f"Slurm job {job_id} is running on {self.node}; waiting for JupyterLab to start"
        return f"Slurm job {job_id} is {self.state.lower()}"


def _time(text: str) -> str:
    return "" if text in _UNKNOWN_TIMES else text


def _seconds(limit: str) -> int | None:
    try:
        return parse_slurm_time(limit) if limit else None
    except SlurmTimeError:
        return None


def _elapsed(start: str, end: str) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def parse_squeue_line(line: str) -> JobState | None:
    fields = line.strip().split("|")
    if len(fields) < 8 or not fields[0]:
        return None
    return JobState(
        state=fields[0],
        reason=fields[1],
        node=fields[2],
        time_left=fields[3],
        start_time=_time(fields[4]),
        end_time=_time(fields[5]),
        time_limit=_time(fields[6]),
    )


class GarbledAnswer(ValueError):
    pass


def record_mark() -> str:
    """Text squeue prints before each job, new for each call. Slurm lets a job's name hold
    a newline and squeue prints it raw, so a user could name a job so that its next line
    reads as another user's job; a record begins with a mark that user cannot know, and
    whatever else follows a name is part of that name."""
    return f"#{secrets.token_hex(8)}#"


def poll_format(mark: str) -> str:
    """What the poller asks for all its jobs at once: the job id, then SQUEUE_FORMAT."""
    return f"{mark}%i|{SQUEUE_FORMAT}"


# What '+1 h' reads of a job: fixed fields (id, state, user, partition, account, QoS,
# limit, nodes, end, reservation) and the user-chosen name last, never scontrol's text,
# where a name holding "QOS=... TimeLimit=..." comes before the real fields.
JOB_FACTS_FORMAT = "%i|%T|%u|%P|%a|%q|%l|%N|%e|%v|%j"


@dataclass(frozen=True)
class JobFacts:
    job_id: str
    state: str
    user: str
    partition: str
    account: str
    qos: str
    time_limit: str
    nodes: str
    end_time: str
    reservation: str


def job_facts_format(mark: str) -> str:
    return f"{mark}{JOB_FACTS_FORMAT}"


def parse_job_facts(stdout: str, mark: str) -> dict[str, JobFacts]:
    """squeue --format=job_facts_format(mark) records by job id."""
    facts = {}
    for record in _records(stdout, mark):
        fields = record.split("|")
        if len(fields) < 11 or not fields[0].isdigit() or fields[1] not in SLURM_STATES:
            raise GarbledAnswer(f"unexpected squeue line {record[:200]!r}")
        job_id, state, user, partition, account, qos, limit, nodes, end, reservation = fields[:10]
        facts[job_id] = JobFacts(job_id, state, user, partition, account, qos, limit, nodes, _time(end),
                                 "" if reservation in ("(null)", "") else reservation)  # fmt: skip
    return facts


def expand_hostlist(hostlist: str) -> list[str] | None:
    """Slurm's compressed host list (cn[1-3,7],login01) as names; None when it is not one
    this reads (the caller then assumes the worst)."""
    names: list[str] = []
    for item in re.findall(r"[^,\[]+(?:\[[^\]]*\][^,\[]*)*", hostlist):
        match = re.fullmatch(r"([^\[\]]*)(?:\[([0-9,-]+)\]([^\[\]]*))?", item)
        if match is None:
            return None
        prefix, ranges, suffix = match.groups()
        if ranges is None:
            names.append(prefix)
            continue
        for part in ranges.split(","):
            low, _, high = part.partition("-")
            if not low.isdigit() or (high and not high.isdigit()):
                return None
            for number in range(int(low), int(high or low) + 1):
                names.append(f"{prefix}{number:0{len(low)}d}{suffix}")
    return names


def server_jobs_format(mark: str) -> str:
    """Job id, user and name: what the sweep and logout read to find server jobs."""
    return f"{mark}%i|%u|%j"


def _records(stdout: str, mark: str) -> list[str]:
    before, *records = stdout.split(mark)
    if before.strip():
        raise GarbledAnswer(f"squeue printed {before.strip()[:200]!r} before its first job")
    return [record.rstrip("\n") for record in records]


def parse_poll_answer(stdout: str, mark: str) -> dict[str, JobState]:
    """squeue --format=poll_format(mark) records by job id; one that does not parse spoils all."""
    states = {}
    for record in _records(stdout, mark):
        job_id, _, rest = record.partition("|")
        state = parse_squeue_line(rest)
        if not job_id.isdigit() or state is None or state.state not in SLURM_STATES:
            raise GarbledAnswer(f"unexpected squeue line {record[:200]!r}")
        states[job_id] = state
    return states


def forgotten_job(stderr: str) -> bool:
    """squeue refused a single job id it no longer knows: an answer (the job is gone),
    not a failure."""
    return "Invalid job id specified" in stderr


_REFUSAL_PREFIXES = ("sbatch: error: Batch job submission failed: ", "sbatch: error: ", "allocation failure: ")


def slurm_refusal(stderr: str) -> str:
    """sbatch's reasons for refusing a job, without its prefixes, one per line joined."""
    reasons = []
    for line in stderr.splitlines():
        text = line.strip()
        for prefix in _REFUSAL_PREFIXES:
            text = text.removeprefix(prefix)
        if text and text not in reasons:
            reasons.append(text)
    return "; ".join(reasons) or "no reason given"


def submitted_job_id(sbatch_output: str) -> str | None:
    """The job id of `sbatch --parsable` output ("<id>" or "<id>;<cluster>")."""
    job_id = sbatch_output.strip().split(";")[0]
    return job_id if job_id.isdigit() else None


def server_jobs(listing: str, mark: str) -> dict[str, str]:
    """Job id -> user, from `squeue --noheader --format=server_jobs_format(mark)`, server
    jobs only (a name with a newline is none of the hub's)."""
    jobs = {}
    for record in _records(listing, mark):
        job_id, user, name = ([*record.split("|", 2), "", ""])[:3]
        if job_id.isdigit() and user and name.startswith(f"{JOB_NAME_PREFIX}-") and "\n" not in name:
            jobs[job_id] = user
    return jobs


def parse_scontrol_record(record: str) -> dict[str, str]:
    """`scontrol show job --oneliner` as a dict (values stop at the next space)."""
    fields = {}
    for word in record.split():
        name, separator, value = word.partition("=")
        if separator and name not in fields:
            fields[name] = value
    return fields


def ended_message(job_id: str, state: str | None, reason: str = "", exit_code: str = "") -> str:
    """The words for a job that ended, for the spawn page and the home page; state None:
    Slurm no longer knows the job."""
    if state is None:
        return f"Slurm job {job_id} has left the queue"
    details = []
    if reason not in ("None", ""):
        details.append(f"reason: {reason}")
    if exit_code and exit_code != "0:0":
        details.append(f"exit code {exit_code}")
    suffix = f" ({', '.join(details)})" if details else ""
    return f"Slurm job {job_id} ended: {state}{suffix}"


def describe_end(job_id: str, state: JobState | None) -> str:
    """The words for a job the poller saw end (its last squeue state, if any)."""
    if state is not None and state.reached_time_limit:
        limit = _seconds(state.time_limit)
        return f"Slurm job {job_id} ended: time limit reached ({format_slurm_time(limit or 0)})"
    return ended_message(job_id, state.state if state else None, state.reason if state else "")


def describe_finished_job(job_id: str, record: dict[str, str]) -> str:
    """Why a job ended, from its scontrol record (kept by Slurm for MinJobAge)."""
    if not record:
        return ended_message(job_id, None)
    return ended_message(job_id, record.get("JobState", "ENDED"), record.get("Reason", ""), record.get("ExitCode", ""))

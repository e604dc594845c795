"""What the hub knows of Slurm's answers about jobs: sbatch's job id, job states, squeue
lines and refusals, scontrol records, which jobs are servers', and the words for a job
that ended. The poller, the orphan sweep, logout, the SLURM kind and the spawn page read
Slurm's answers about jobs through here (the partitions' sinfo is cluster.py's)."""

from __future__ import annotations

from dataclasses import dataclass

from .batch_script import JOB_NAME_PREFIX

# squeue --format: state, reason, node list, time left, job name (| never occurs in these).
SQUEUE_FORMAT = "%T|%r|%N|%L|%j"
# The same, after the job id: what the poller asks for all its jobs at once.
POLL_FORMAT = f"%i|{SQUEUE_FORMAT}"
# Job id, user and name: what the sweep and logout read to find server jobs.
SERVER_JOBS_FORMAT = "%i|%u|%j"
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


@dataclass(frozen=True)
class JobState:
    state: str
    reason: str
    node: str
    time_left: str

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
            return f"Slurm job {job_id} is {self.state.lower()} in the queue{reason}"
        if self.running:
            return f"Slurm job {job_id} is running on {self.node}; waiting for JupyterLab to start"
        return f"Slurm job {job_id} is {self.state.lower()}"


def parse_squeue_line(line: str) -> JobState | None:
    fields = line.strip().split("|")
    if len(fields) < 4 or not fields[0]:
        return None
    return JobState(state=fields[0], reason=fields[1], node=fields[2], time_left=fields[3])


class GarbledAnswer(ValueError):
    pass


def parse_poll_answer(stdout: str) -> dict[str, JobState]:
    """squeue --format=POLL_FORMAT lines by job id; a line that does not parse spoils all."""
    states = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        job_id, _, rest = line.strip().partition("|")
        state = parse_squeue_line(rest)
        if not job_id.isdigit() or state is None or state.state not in SLURM_STATES:
            raise GarbledAnswer(f"unexpected squeue line {line.strip()[:200]!r}")
        states[job_id] = state
    return states


def forgotten_job(stderr: str) -> bool:
    """squeue refused a single job id it no longer knows: an answer (the job is gone),
    not a failure."""
    return "Invalid job id specified" in stderr


def submitted_job_id(sbatch_output: str) -> str | None:
    """The job id of `sbatch --parsable` output ("<id>" or "<id>;<cluster>")."""
    job_id = sbatch_output.strip().split(";")[0]
    return job_id if job_id.isdigit() else None


def server_jobs(listing: str) -> dict[str, str]:
    """Job id -> user, from `squeue --noheader --format=SERVER_JOBS_FORMAT`, server jobs only."""
    jobs = {}
    for line in listing.splitlines():
        job_id, user, name = ([*line.strip().split("|"), "", ""])[:3]
        if job_id.isdigit() and user and name.startswith(f"{JOB_NAME_PREFIX}-"):
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
    return ended_message(job_id, state.state if state else None, state.reason if state else "")


def describe_finished_job(job_id: str, record: dict[str, str]) -> str:
    """Why a job ended, from its scontrol record (kept by Slurm for MinJobAge)."""
    if not record:
        return ended_message(job_id, None)
    return ended_message(job_id, record.get("JobState", "ENDED"), record.get("Reason", ""), record.get("ExitCode", ""))

"""Reading Slurm's answers about one job: squeue lines and scontrol records."""

from __future__ import annotations

from dataclasses import dataclass

# squeue --format: state, reason, node list, time left, job name (| never occurs in these).
SQUEUE_FORMAT = "%T|%r|%N|%L|%j"
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


def parse_scontrol_record(record: str) -> dict[str, str]:
    """`scontrol show job --oneliner` as a dict (values stop at the next space)."""
    fields = {}
    for word in record.split():
        name, separator, value = word.partition("=")
        if separator and name not in fields:
            fields[name] = value
    return fields


def describe_finished_job(job_id: str, record: dict[str, str]) -> str:
    """Why a job ended, from its scontrol record (kept by Slurm for MinJobAge)."""
    if not record:
        return f"Slurm job {job_id} has left the queue"
    state = record.get("JobState", "ENDED")
    details = []
    reason = record.get("Reason", "None")
    if reason not in ("None", ""):
        details.append(f"reason: {reason}")
    exit_code = record.get("ExitCode", "")
    if exit_code and exit_code != "0:0":
        details.append(f"exit code {exit_code}")
    suffix = f" ({', '.join(details)})" if details else ""
    return f"Slurm job {job_id} ended: {state}{suffix}"

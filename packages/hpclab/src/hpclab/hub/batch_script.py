"""The sbatch script of a Slurm server, built from validated options only.

User-chosen values reach #SBATCH lines only after validation against strict patterns
(see options.py); the user's variables travel in the environment (--export lists their
names), never in the script text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence

from hpclab.common.session import TIME_LIMIT_SIGNAL, TIME_LIMIT_SIGNAL_LEAD_S

from .options import SpawnOptions

JOB_NAME_PREFIX = "jupyterhub"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_]+")


def job_name(server_name: str) -> str:
    """Slurm job name of a server; logout cancels every job whose name starts with the prefix."""
    return f"{JOB_NAME_PREFIX}-{server_name or 'default'}"


def render_batch_script(
    options: SpawnOptions,
    *,
    server_name: str,
    home: str,
    exported_names: Iterable[str],
    command: Sequence[str],
) -> str:
    if not home.startswith("/") or re.search(r"\s", home):
        raise ValueError(f"home directory {home!r} cannot be used on an #SBATCH line")
    names = sorted(set(exported_names))
    unsafe = [name for name in names if not _SAFE_NAME.fullmatch(name)]
    if unsafe:
        raise ValueError(f"cannot export {unsafe!r}")
    directives = [
        f"--job-name={job_name(server_name)}",
        f"--partition={options.partition}",
        f"--time={options.slurm_time}",
        # Slurm's notice that the limit is near: the server then stops cleanly before the kill.
        f"--signal=B:{TIME_LIMIT_SIGNAL}@{TIME_LIMIT_SIGNAL_LEAD_S}",
        "--nodes=1",
        # A requeued job's server would be gone while the hub still routed to its port.
        "--no-requeue",
        "--ntasks=1",
        f"--cpus-per-task={options.cpus}",
        # The launcher writes the log itself, under $WORK, once it knows the job id.
        "--output=/dev/null",
        f"--chdir={home}",
        f"--export={','.join(names) if names else 'NONE'}",
    ]
    if options.memory_mb:
        directives.append(f"--mem={options.memory_mb}M")
    if options.gpus:
        gres = f"gpu:{options.gpu_type}:{options.gpus}" if options.gpu_type else f"gpu:{options.gpus}"
        directives.append(f"--gres={gres}")
    if options.account:
        directives.append(f"--account={options.account}")
    if options.qos:
        directives.append(f"--qos={options.qos}")
    if options.reservation:
        directives.append(f"--reservation={options.reservation}")
    lines = ["#!/bin/bash -l", *(f"#SBATCH {directive}" for directive in directives), ""]
    lines.append("exec " + shlex.join(command))
    return "\n".join(lines) + "\n"

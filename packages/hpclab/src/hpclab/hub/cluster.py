"""What the spawn form validates against: the cluster's partitions, read from sinfo."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .commands import check_command
from .slurm_time import SlurmTimeError, parse_slurm_time

SINFO_FORMAT = "%R|%P|%l|%c|%m|%G"


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    max_time_seconds: int | None  # None: no limit
    max_cpus: int  # on the largest node
    max_memory_mb: int  # on the largest node
    max_gpus: int  # on the node with most GPUs


def _gpu_count(gres: str) -> int:
    """GPUs in a sinfo %G field such as 'gpu:2', 'gpu:a100:4(S:0-1)' or '(null)'."""
    total = 0
    for item in gres.split(","):
        fields = item.split("(")[0].split(":")
        if fields[0] == "gpu" and len(fields) > 1 and fields[-1].isdigit():
            total += int(fields[-1])
    return total


def _number(text: str) -> int:
    """sinfo prints '4+' when nodes of a partition differ; the larger value is kept."""
    return int(text.rstrip("+")) if text.rstrip("+").isdigit() else 0


def parse_sinfo(output: str) -> dict[str, Partition]:
    """Partitions from `sinfo --noheader --format=SINFO_FORMAT` (one line per node group)."""
    partitions: dict[str, Partition] = {}
    for line in output.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 6:
            continue
        name, flagged, time_limit, cpus, memory, gres = fields
        try:
            max_time = parse_slurm_time(time_limit)
        except SlurmTimeError:
            max_time = None
        seen = partitions.get(name)
        partitions[name] = Partition(
            name=name,
            default=flagged.endswith("*"),
            max_time_seconds=max_time,
            max_cpus=max(_number(cpus), seen.max_cpus if seen else 0),
            max_memory_mb=max(_number(memory), seen.max_memory_mb if seen else 0),
            max_gpus=max(_gpu_count(gres), seen.max_gpus if seen else 0),
        )
    return partitions


class PartitionCache:
    """Partitions read at most once per `ttl` seconds: the form and every spawn use them."""

    def __init__(self, sinfo_argv: Sequence[str], ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._argv = [*sinfo_argv, "--noheader", f"--format={SINFO_FORMAT}"]
        self._ttl = ttl
        self._clock = clock
        self._partitions: dict[str, Partition] = {}
        self._read_at = float("-inf")

    async def get(self) -> dict[str, Partition]:
        if self._clock() - self._read_at > self._ttl or not self._partitions:
            self._partitions = parse_sinfo(await check_command(self._argv, timeout=20))
            self._read_at = self._clock()
        return self._partitions

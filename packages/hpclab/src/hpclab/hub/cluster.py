"""The cluster's partitions and the size of their nodes, read from sinfo."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    # GPU type ("" when untyped) -> most GPUs of that type on one node.
    gpu_types: dict[str, int] = field(default_factory=dict)


def _gpu_types(gres: str) -> dict[str, int]:
    """GPUs by type in a sinfo %G field such as 'gpu:2', 'gpu:a100:4(S:0-1)' or '(null)'."""
    types: dict[str, int] = {}
    for item in gres.split(","):
        fields = item.split("(")[0].split(":")
        if fields[0] == "gpu" and len(fields) > 1 and fields[-1].isdigit():
            kind = fields[1] if len(fields) > 2 else ""
            types[kind] = types.get(kind, 0) + int(fields[-1])
    return types


def _merged_types(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    return {kind: max(first.get(kind, 0), second.get(kind, 0)) for kind in {*first, *second}}


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
        gpu_types = _gpu_types(gres)
        partitions[name] = Partition(
            name=name,
            default=flagged.endswith("*"),
            max_time_seconds=max_time,
            max_cpus=max(_number(cpus), seen.max_cpus if seen else 0),
            max_memory_mb=max(_number(memory), seen.max_memory_mb if seen else 0),
            max_gpus=max(sum(gpu_types.values()), seen.max_gpus if seen else 0),
            gpu_types=_merged_types(gpu_types, seen.gpu_types if seen else {}),
        )
    return partitions

"""Validation of the Slurm node and partition data that slurm.conf is rendered from.

A typo in inventory data would otherwise surface as a controller that refuses to start,
or worse, as a partition that silently lacks nodes. The role asserts that this list of
problems is empty before it writes anything.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

_POSITIVE_INT_KEYS = ("CPUs", "RealMemory", "Boards", "Sockets", "CoresPerSocket", "ThreadsPerCore")


def _load_slurm_time() -> ModuleType:
    """The hub's own reader of Slurm durations (a module of plain Python, loaded from its
    file: the control machine need not have the package), so that slurm.conf's MaxTime
    and the spawn form's time limits follow one definition."""
    path = Path(__file__).resolve().parents[3] / "packages/hpclab/src/hpclab/hub/slurm_time.py"
    spec = importlib.util.spec_from_file_location("hpclab_slurm_time", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_slurm_time = _load_slurm_time()


def is_slurm_time(value: object) -> bool:
    """True for a time limit slurm.conf accepts (UNLIMITED included)."""
    text = str(value)
    # The form forgives spaces around a time; a line of slurm.conf does not.
    if text != text.strip():
        return False
    try:
        _slurm_time.parse_slurm_time(text)
    except _slurm_time.SlurmTimeError:
        return False
    return True


def _duplicates(names: list[str]) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _node_problems(nodes: list[dict[str, Any]]) -> list[str]:
    problems = []
    names = [str(node.get("NodeName", "")) for node in nodes]
    if not nodes:
        problems.append("slurm_nodes is empty: declare at least one compute node")
    for index, node in enumerate(nodes):
        if not node.get("NodeName"):
            problems.append(f"slurm_nodes[{index}] has no NodeName")
        for key in _POSITIVE_INT_KEYS:
            if key in node and not (str(node[key]).isdigit() and int(node[key]) > 0):
                problems.append(
                    f"node {node.get('NodeName', index)}: {key} must be a positive integer, got {node[key]!r}"
                )
    problems.extend(f"node {name} is declared more than once" for name in _duplicates(names))
    return problems


def _partition_problems(partitions: list[dict[str, Any]], node_names: set[str]) -> list[str]:
    problems = []
    if not partitions:
        problems.append("slurm_partitions is empty: declare at least one partition")
    names = [str(partition.get("PartitionName", "")) for partition in partitions]
    problems.extend(f"partition {name} is declared more than once" for name in _duplicates(names))
    defaults = [p.get("PartitionName") for p in partitions if str(p.get("Default", "NO")).upper() in ("YES", "TRUE")]
    if len(defaults) > 1:
        problems.append(f"more than one default partition: {', '.join(map(str, defaults))}")
    for index, partition in enumerate(partitions):
        name = partition.get("PartitionName") or f"slurm_partitions[{index}]"
        if not partition.get("PartitionName"):
            problems.append(f"slurm_partitions[{index}] has no PartitionName")
        members = partition.get("Nodes")
        if not isinstance(members, list) or not members:
            problems.append(f"partition {name}: Nodes must be a non-empty list of node names")
        else:
            unknown = sorted(set(map(str, members)) - node_names)
            if unknown:
                problems.append(f"partition {name}: unknown nodes {', '.join(unknown)}")
        if "MaxTime" not in partition:
            problems.append(f"partition {name}: MaxTime is required (the spawn form validates against it)")
        elif not is_slurm_time(partition["MaxTime"]):
            problems.append(f"partition {name}: MaxTime {partition['MaxTime']!r} is not a Slurm time")
    return problems


def slurm_topology_problems(nodes: list[dict[str, Any]], partitions: list[dict[str, Any]]) -> list[str]:
    """Every problem found in the node and partition data; empty when it is sound."""
    node_names = {str(node.get("NodeName")) for node in nodes}
    return _node_problems(nodes) + _partition_problems(partitions, node_names)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"slurm_topology_problems": slurm_topology_problems}

"""The Slurm role refuses node and partition data that would break slurm.conf."""

from __future__ import annotations

import pytest

from slurm_topology import is_slurm_time, slurm_topology_problems

NODES = [{"NodeName": "cn1", "CPUs": 4, "RealMemory": 8000}, {"NodeName": "cn2", "CPUs": 4}]
CPU = {"PartitionName": "cpu", "Nodes": ["cn1", "cn2"], "Default": True, "MaxTime": "1-00:00:00"}
VISU = {"PartitionName": "visu", "Nodes": ["cn2"], "MaxTime": "04:00:00"}


def test_sound_description_has_no_problem():
    assert slurm_topology_problems(NODES, [CPU, VISU]) == []


@pytest.mark.parametrize("value", ["30", "30:00", "4:00:00", "1-00", "1-00:00", "2-12:30:00", "UNLIMITED", "infinite"])
def test_slurm_time_formats_are_accepted(value):
    assert is_slurm_time(value)


@pytest.mark.parametrize("value", ["", "1h", "-1", "1-", "1:2:3:4", "04:00:00\n#SBATCH", "04:00:00\n", "1 day"])
def test_other_time_strings_are_refused(value):
    assert not is_slurm_time(value)


@pytest.mark.parametrize(
    ("nodes", "partitions", "expected"),
    [
        (NODES, [{**CPU, "Nodes": ["cn1", "cn9"]}], "partition cpu: unknown nodes cn9"),
        (NODES, [{**VISU, "MaxTime": "4 hours"}], "partition visu: MaxTime '4 hours' is not a Slurm time"),
        (NODES, [{k: v for k, v in VISU.items() if k != "MaxTime"}], "partition visu: MaxTime is required"),
        (NODES, [CPU, {**VISU, "Default": "YES"}], "more than one default partition: cpu, visu"),
        (NODES, [CPU, CPU], "partition cpu is declared more than once"),
        (NODES, [{**CPU, "Nodes": []}], "partition cpu: Nodes must be a non-empty list"),
        (NODES, [{**CPU, "Nodes": "cn1,cn2"}], "partition cpu: Nodes must be a non-empty list"),
        ([*NODES, {"NodeName": "cn1"}], [CPU], "node cn1 is declared more than once"),
        ([{"NodeName": "cn1", "CPUs": 0}, NODES[1]], [CPU], "node cn1: CPUs must be a positive integer"),
        ([{"NodeName": "cn1", "RealMemory": "8G"}, NODES[1]], [CPU], "node cn1: RealMemory must be a positive"),
        ([{"CPUs": 2}], [VISU], "slurm_nodes[0] has no NodeName"),
        ([], [], "slurm_nodes is empty"),
        (NODES, [], "slurm_partitions is empty"),
    ],
)
def test_each_problem_is_reported_clearly(nodes, partitions, expected):
    problems = slurm_topology_problems(nodes, partitions)
    assert any(problem.startswith(expected) for problem in problems), problems

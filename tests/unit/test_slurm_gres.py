"""GresTypes and gres.conf follow the Gres that slurm_nodes declare; bad GRES data is refused."""

from __future__ import annotations

import pytest
from slurm_gres import parse_gres, slurm_gres_conf, slurm_gres_problems, slurm_gres_types

CPU = {"NodeName": "cn[001-004]", "CPUs": 64}
VISU = {"NodeName": "visu01", "CPUs": 32, "Gres": "gpu:2"}


def test_nodes_without_gres_need_neither_grestypes_nor_gres_conf():
    assert slurm_gres_types([CPU]) == []
    assert slurm_gres_conf([CPU], {}) == []
    assert slurm_gres_problems([CPU], {}) == []


def test_untyped_gpus_get_consecutive_device_files():
    assert slurm_gres_types([CPU, VISU]) == ["gpu"]
    assert slurm_gres_conf([CPU, VISU], {}) == [{"NodeName": "visu01", "Name": "gpu", "File": "/dev/nvidia[0-1]"}]


def test_typed_gpus_are_numbered_in_the_order_of_gres():
    node = {"NodeName": "gpu[01-04]", "Gres": "gpu:a100:2,gpu:t4:1,bandwidth:lustre:no_consume:4G"}
    assert slurm_gres_types([node]) == ["bandwidth", "gpu"]
    assert slurm_gres_conf([node], {}) == [
        {"NodeName": "gpu[01-04]", "Name": "gpu", "Type": "a100", "File": "/dev/nvidia[0-1]"},
        {"NodeName": "gpu[01-04]", "Name": "gpu", "Type": "t4", "File": "/dev/nvidia2"},
    ]


def test_a_list_of_gres_is_the_same_as_commas():
    assert parse_gres(["gpu:a100:2", "gpu:t4:1"]) == parse_gres("gpu:a100:2,gpu:t4:1")


def test_a_node_line_can_describe_its_devices_itself():
    lines = {"visu01": [{"AutoDetect": "nvml", "Name": "gpu"}]}
    assert slurm_gres_conf([VISU], lines) == [{"NodeName": "visu01", "AutoDetect": "nvml", "Name": "gpu"}]
    assert slurm_gres_problems([VISU], lines) == []


@pytest.mark.parametrize(
    ("nodes", "lines", "config", "expected"),
    [
        ([{**VISU, "Gres": "gpu"}], {}, None, "node visu01: Gres 'gpu' is not <name>[:<type>][:no_consume]:<count>"),
        ([{**VISU, "Gres": "gpu:two"}], {}, None, "node visu01: Gres 'gpu:two' is not"),
        ([{**VISU, "Gres": "gpu:2,gpu:a100:1"}], {}, None, "node visu01: Gres gpu is declared both with and without"),
        ([{**VISU, "Gres": "gpu:2K"}], {}, None, "node visu01: a GPU count takes no K/M/G suffix"),
        ([VISU], {"visu02": [{"Name": "gpu"}]}, None, "slurm_gres_nodes: visu02 is not a NodeName of slurm_nodes"),
        ([VISU], {"visu01": {"Name": "gpu"}}, None, "slurm_gres_nodes[visu01] must be a list of gres.conf lines"),
        ([VISU], {"visu01": [{"File": "/dev/nvidia0"}]}, None, "slurm_gres_nodes[visu01]: a line needs Name"),
        ([VISU], {"visu01": [{"NodeName": "x", "Name": "gpu"}]}, None, "a line has no NodeName of its own"),
        ([VISU], {}, {"GresTypes": "mps"}, "GresTypes (mps) lacks gpu, declared by nodes"),
    ],
)
def test_bad_gres_data_is_reported(nodes, lines, config, expected):
    problems = slurm_gres_problems(nodes, lines, config)
    assert any(problem.startswith(expected) or expected in problem for problem in problems), problems


def test_a_site_grestypes_that_names_every_resource_is_accepted():
    assert slurm_gres_problems([VISU], {}, {"GresTypes": "gpu,mps"}) == []

"""What users type in the spawn form or send to the REST API."""

from __future__ import annotations

import pytest

from hpclab.hub.cluster import Partition, parse_sinfo
from hpclab.hub.options import OptionsError, flatten_form, parse_memory_mb, validate_options
from hpclab.hub.slurm_policy import ClusterPolicy

PARTITIONS = parse_sinfo(
    "cpu|cpu*|1-00:00:00|8|16000|(null)\n"
    "visu|visu|4:00:00|8|16000|(null)\n"
    "gpu|gpu|infinite|32|250000|gpu:a100:4(S:0-1)\n"
)
POLICY = ClusterPolicy(PARTITIONS).for_user("alice")


def test_sinfo_lines_give_partitions_with_their_limits():
    assert PARTITIONS["cpu"] == Partition("cpu", True, 86400, 8, 16000, 0)
    assert PARTITIONS["visu"].max_time_seconds == 4 * 3600
    assert PARTITIONS["gpu"].max_time_seconds is None
    assert PARTITIONS["gpu"].max_gpus == 4


def test_a_sound_slurm_request_is_normalised():
    options = validate_options(
        {"kind": "slurm", "partition": "visu", "time": "2:00:00", "cpus": "4", "memory": "4G", "environment": "A=1"},
        POLICY,
    )
    assert (options.partition, options.time_seconds, options.cpus, options.memory_mb) == ("visu", 7200, 4, 4096)
    assert options.environment == {"A": "1"}
    assert options.slurm_time == "02:00:00"


def test_defaults_are_the_default_partition_and_one_hour():
    options = validate_options({}, POLICY)
    assert (options.kind, options.partition, options.time_seconds, options.cpus) == ("slurm", "cpu", 3600, 1)


def test_interactive_ignores_the_slurm_fields():
    options = validate_options({"kind": "interactive", "partition": "nope", "cpus": "-3"}, POLICY)
    assert options.kind == "interactive"
    assert options.partition == ""


def test_api_environment_may_be_a_mapping():
    options = validate_options({"kind": "interactive", "environment": {"MLRUNS_DIR": "/w/mlflow"}}, POLICY)
    assert options.environment == {"MLRUNS_DIR": "/w/mlflow"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"partition": "cpu\n#SBATCH --uid=0"}, "line breaks"),
        ({"account": "acct\n#SBATCH --uid=0"}, "line breaks"),
        ({"time": "01:00:00\n#SBATCH --uid=0"}, "line breaks"),
        ({"account": "$(id)"}, "is not a Slurm name"),
        ({"account": "`id`"}, "is not a Slurm name"),
        ({"partition": "$(reboot)"}, "is not a partition"),
        ({"partition": "debug"}, "is not a partition of this cluster"),
        ({"partition": "visu", "time": "05:00:00"}, "exceeds the visu partition's MaxTime, 04:00:00"),
        ({"time": "2-00:00:00"}, "exceeds the cpu partition's MaxTime"),
        ({"time": "soon"}, "is not a Slurm time"),
        ({"time": "0"}, "positive time limit"),
        ({"cpus": "-1"}, "is not a whole number"),
        ({"cpus": "0"}, "outside 1-8"),
        ({"cpus": "100000"}, "outside 1-8"),
        ({"cpus": "1e3"}, "is not a whole number"),
        ({"memory": "-4G"}, "is not a size"),
        ({"memory": "999999999G"}, "exceeds the 16000M"),
        ({"memory": "4 gigs"}, "is not a size"),
        ({"gpus": "1"}, "has no GPUs"),
        ({"partition": "gpu", "gpus": "8"}, "at most 4 GPUs"),
        ({"partition": "gpu", "gpus": "1", "gpu_type": "h100"}, "has no 'h100' GPUs"),
        ({"partition": "gpu", "gpus": "1", "gpu_type": "a100;id"}, "is not a Slurm name"),
        ({"qos": "dev\n#SBATCH --uid=0"}, "line breaks"),
        ({"qos": "$(id)"}, "is not a Slurm name"),
        ({"reservation": "--uid=0"}, "is not a Slurm name"),
        ({"reservation": "nosuch"}, "is not a reservation you may use"),
        ({"reservation": "r\n#SBATCH --uid=0"}, "line breaks"),
        ({"account": "a" * 300}, "at most 256 characters"),
        ({"kind": "root"}, "is not one of"),
        ({"kind": ["slurm"]}, "expected text"),
        ({"environment": "JUPYTERHUB_API_TOKEN=stolen"}, "set by the service"),
        ({"environment": "SLURM_JOB_ID=1"}, "set by the service"),
        ({"environment": "MEM_LIMIT=1"}, "set by the service"),
        ({"environment": "A B=1"}, "is not a variable name"),
        ({"environment": "$(id)=1"}, "is not a variable name"),
        ({"environment": "novalue"}, "expected NAME=value"),
        ({"environment": "A=1\n#SBATCH --uid=0"}, "is not a variable name"),
        ({"environment": {"A": "x\n#SBATCH --uid=0"}}, "line break"),
        ({"environment": {"A": 3}}, "must be text"),
        ({"environment": {"A": "x" * 5000}}, "longer than 4096"),
        ({"environment": "\n".join(f"V{i}=1" for i in range(65))}, "at most 64 variables"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(raw, message):
    with pytest.raises(OptionsError, match=message.replace("(", r"\(").replace("$", r"\$")):
        validate_options(raw, POLICY)


def test_memory_units():
    assert [parse_memory_mb(text) for text in ("512M", "2G", "2048", "1T", "2gb")] == [512, 2048, 2048, 1048576, 2048]


def test_the_forms_xsrf_token_is_not_kept_among_the_options():
    assert flatten_form({"_xsrf": ["token"], "kind": ["slurm"]}) == {"kind": "slurm"}


def test_repeated_form_fields_are_refused():
    assert flatten_form({"kind": ["slurm"]}) == {"kind": "slurm"}
    with pytest.raises(OptionsError, match="sent 2 times"):
        flatten_form({"partition": ["cpu", "visu"]})


@pytest.mark.parametrize(("value", "expected"), [("on", True), (True, True), ("", False), (False, False)])
def test_the_sandbox_is_a_checkbox_or_a_boolean(value, expected):
    assert validate_options({"sandbox": value}, POLICY).sandbox is expected
    assert validate_options({"kind": "interactive", "sandbox": value}, POLICY).sandbox is expected


def test_a_sandbox_value_that_is_neither_on_nor_off_is_refused():
    with pytest.raises(OptionsError, match="sandbox: 'maybe' is neither on nor off"):
        validate_options({"sandbox": "maybe"}, POLICY)


def test_the_sandbox_is_refused_where_it_is_not_offered():
    with pytest.raises(OptionsError, match="not offered"):
        validate_options({"sandbox": "on"}, POLICY, sandbox_enabled=False)
    assert not validate_options({}, POLICY, sandbox_enabled=False).sandbox

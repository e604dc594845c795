"""Each user's view of the cluster's policy, from what sacctmgr and scontrol print (the
demo cluster's own answers), and the checks options.py makes with it."""

from __future__ import annotations

import pytest
from policy_samples import ALICE, BOB, CLUSTER, SINFO

from hpclab.hub.cluster import parse_sinfo
from hpclab.hub.options import OptionsError, validate_options
from hpclab.hub.presets import expand_preset
from hpclab.hub.slurm_policy import ClusterPolicy, parse_cluster_name, parse_partition_access, parse_reservations

SLURM = {"kind": "slurm", "partition": "cpu", "time": "00:20:00"}


def test_alice_has_her_two_accounts_with_their_qos_and_her_default():
    assert sorted(ALICE.associations) == ["astro", "climate"]
    assert ALICE.default_account == "astro"
    assert ALICE.associations["astro"].qos == ("dev", "normal")
    assert ALICE.associations["climate"].qos == ("normal",)
    assert ALICE.default_qos("climate") == "normal"


def test_a_reservation_is_offered_to_whom_it_admits_only():
    assert [found.name for found in BOB.reservations] == ["training"]
    assert [found.name for found in ALICE.reservations] == ["astro-day"]
    training = BOB.reservations[0]
    assert (training.start, training.end, training.partition, training.nodes) == (
        "2026-12-08T09:00:00",
        "2026-12-08T12:00:00",
        "cpu",
        "cn2",
    )


def test_gpu_types_and_counts_per_partition_come_from_gres():
    assert CLUSTER.partitions["gpu"].gpu_types == {"t4": 2, "a100": 2}
    assert CLUSTER.partitions["gpu"].max_gpus == 2


def test_the_time_bound_is_the_smallest_limit_and_names_it():
    gpu, cpu = CLUSTER.partitions["gpu"], CLUSTER.partitions["cpu"]
    assert ALICE.time_bound(gpu, "astro", "normal").set_by == "the gpu partition's MaxTime"
    dev = ALICE.time_bound(cpu, "astro", "dev")
    assert (dev.seconds, dev.set_by) == (1800, "the dev QoS's MaxWall")
    own = ALICE.time_bound(cpu, "climate", "normal")
    assert (own.seconds, own.set_by) == (8 * 3600, "your MaxWall in the climate account")


def test_defaults_are_the_users_default_account_and_its_default_qos():
    options = validate_options(SLURM, ALICE)
    assert (options.account, options.qos) == ("astro", "normal")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"account": "bio"}, "'bio' is not one of your accounts \\(astro, climate\\)"),
        ({"account": "climate", "qos": "dev"}, "the climate account may use the QoS normal, not 'dev'"),
        ({"qos": "dev", "time": "01:00:00"}, "01:00:00 exceeds the dev QoS's MaxWall, 00:30:00"),
        ({"account": "climate", "time": "10:00:00"}, "exceeds your MaxWall in the climate account, 08:00:00"),
        ({"account": "climate", "partition": "gpu"}, "the gpu partition does not take jobs of the climate account"),
        ({"qos": "dev", "partition": "visu"}, "the visu partition does not take jobs of the dev QoS"),
        ({"reservation": "training"}, "'training' is not a reservation you may use \\(yours: astro-day\\)"),
        ({"account": "climate", "reservation": "astro-day"}, "not open to jobs of the climate account"),
        ({"partition": "gpu", "gpus": "3", "gpu_type": "a100"}, "at most 2 a100 GPUs per node"),
    ],
)
def test_what_alices_associations_do_not_allow_is_refused_naming_the_rule(raw, message):
    with pytest.raises(OptionsError, match=message):
        validate_options({**SLURM, **raw}, ALICE)


def test_bob_may_use_his_reservation_and_a_typed_gpu():
    options = validate_options({**SLURM, "reservation": "training"}, BOB)
    assert (options.account, options.reservation) == ("bio", "training")
    gpu = validate_options({**SLURM, "partition": "gpu", "gpus": "1", "gpu_type": "t4"}, BOB)
    assert (gpu.gpus, gpu.gpu_type) == (1, "t4")


def test_a_user_without_association_is_told_to_ask_for_one():
    with pytest.raises(OptionsError, match="carol has no Slurm account on this cluster"):
        validate_options(SLURM, CLUSTER.for_user("carol"))


def test_without_accounting_any_account_name_is_passed_on_for_slurm_to_judge():
    policy = ClusterPolicy(partitions=parse_sinfo(SINFO)).for_user("alice")
    options = validate_options({**SLURM, "account": "whatever"}, policy)
    assert (options.account, options.qos) == ("whatever", "")


def test_a_partition_open_to_some_groups_refuses_the_others():
    access = parse_partition_access("PartitionName=cpu AllowGroups=physics AllowAccounts=ALL AllowQos=ALL\n")
    cluster = ClusterPolicy(partitions=parse_sinfo(SINFO), access=access)
    with pytest.raises(OptionsError, match="open to the groups physics only"):
        validate_options(SLURM, cluster.for_user("alice", ["alice", "demoproj"]))
    assert validate_options(SLURM, cluster.for_user("alice", ["physics"])).partition == "cpu"


def test_a_reservation_for_everyone_but_one_user_excludes_that_user():
    [open_to_most] = parse_reservations("ReservationName=r StartTime=a EndTime=b Users=-alice Accounts=(null)\n")
    assert not open_to_most.admits("alice", ["astro"])
    assert open_to_most.admits("bob", ["bio"])


def test_the_cluster_name_comes_from_the_configuration():
    assert parse_cluster_name("Configuration data as of x\nClusterName             = hpclab-demo\n") == "hpclab-demo"


PRESETS = [
    {"name": "1 GPU for 4 h", "options": {"kind": "slurm", "partition": "gpu", "time": "04:00:00", "gpus": 1}},
    {"name": "Training", "options": {"kind": "slurm", "reservation": "training", "time": "02:00:00"}},
]


def test_a_preset_fills_what_the_request_leaves_empty_and_is_validated_like_any_input():
    options = validate_options(expand_preset({"preset": "1 GPU for 4 h", "time": "", "cpus": "2"}, PRESETS), ALICE)
    assert (options.partition, options.time_seconds, options.gpus, options.cpus) == ("gpu", 4 * 3600, 1, 2)
    with pytest.raises(OptionsError, match="is not a reservation you may use"):
        validate_options(expand_preset({"preset": "Training"}, PRESETS), ALICE)
    with pytest.raises(OptionsError, match="'Nope' is not one of this cluster's presets"):
        expand_preset({"preset": "Nope"}, PRESETS)
    with pytest.raises(OptionsError, match="expected a preset's name"):
        expand_preset({"preset": ["Training"]}, PRESETS)

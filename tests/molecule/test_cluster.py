"""Behaviour of the deployed cluster: Slurm, shared storage, Lmod, munge, accounts."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import CLUSTER, HUB_PORT, MODULE_NODES, NODES, as_user, container_name

DEMO_MODULES = ("python/3.11-base", "python/3.11-science", "demo-project/1.0")


def test_compute_nodes_are_idle_in_their_partitions(node):
    listing = node("hub").check_output("sinfo --noheader --Node --format='%N %P %t'")
    assert {tuple(line.split()) for line in listing.splitlines()} == {
        ("cn1", "cpu*", "idle"),
        ("cn2", "cpu*", "idle"),
        ("cn2", "visu", "idle"),
        ("cn1", "gpu", "idle"),
        ("cn2", "gpu", "idle"),
    }


def test_every_partition_has_a_max_time(node):
    partitions = node("hub").check_output("scontrol show partition --oneliner")
    max_times = {
        fields["PartitionName"]: fields["MaxTime"]
        for fields in (
            dict(word.split("=", 1) for word in line.split() if "=" in word) for line in partitions.splitlines()
        )
    }
    assert max_times == {"cpu": "1-00:00:00", "visu": "04:00:00", "gpu": "12:00:00"}


def test_alice_job_runs_as_alice_on_a_compute_node_and_writes_to_work(node):
    hub = node("hub")
    # --export=NONE: WORK must come from the cluster (TaskProlog), not from the hub's shell.
    job_id = hub.check_output(
        as_user(
            "alice",
            "sbatch --export=NONE --wait --parsable --output=/dev/null "
            '--wrap=\'printf "%s %s %s\\n" "$(hostname)" "$(id -un)" "$WORK" > "$WORK/verify-$SLURM_JOB_ID.txt"\'',
        )
    ).strip()
    assert job_id.isdigit()
    written = hub.check_output(as_user("alice", f'cat "$WORK/verify-{job_id}.txt"')).split()
    assert written[0] in ("cn1", "cn2")
    assert written[1:] == ["alice", "/cluster/work/alice"]


def test_work_and_scratch_are_set_in_login_shells(node):
    for name in MODULE_NODES:
        env = node(name).check_output(as_user("bob", 'echo "$WORK $SCRATCH"'))
        assert env == "/cluster/work/bob /cluster/scratch/bob"


def test_work_directories_are_private_to_their_owner(node):
    assert node("hub").run(as_user("bob", "ls /cluster/work/alice")).rc != 0


@pytest.mark.parametrize("name", MODULE_NODES)
def test_demo_modules_are_available(node, name):
    available = node(name).check_output(as_user("alice", "module --terse avail 2>&1")).split()
    assert set(DEMO_MODULES) <= set(available)


@pytest.mark.parametrize(("name", "module"), [("hub", "python/3.11-base"), ("cn2", "python/3.11-science")])
def test_loading_a_python_module_gives_its_environment(node, name, module):
    prefix = node(name).check_output(
        as_user("alice", f"module load {module} && python -c 'import sys, ipykernel; print(sys.prefix)'")
    )
    assert prefix == f"/cluster/software/envs/python-{module.split('/')[1]}"
    spec = json.loads(node(name).file(f"{prefix}/share/jupyter/kernels/python3/kernel.json").content_string)
    assert spec["argv"][0] == f"{prefix}/bin/python"
    assert spec["display_name"].startswith("Python 3.11 (")


def test_variables_module_sets_its_variables(node):
    env = node("cn1").check_output(as_user("alice", 'module load demo-project/1.0 && echo "$DEMO_PROJECT"'))
    assert env == "demoproj"


def test_munge_key_is_identical_on_every_node(node):
    digests = {name: node(name).check_output("sha256sum /etc/munge/munge.key").split()[0] for name in NODES}
    assert len(set(digests.values())) == 1, digests
    key = node("cn1").file("/etc/munge/munge.key")
    assert (key.user, key.mode) == ("munge", 0o400)


@pytest.mark.parametrize("name", ["slurmctld", "cn1", "cn2"])
def test_munge_credential_from_hub_is_accepted(node, name):
    credential = node("hub").check_output("munge -n")
    decoded = node(name).run(f"echo {credential} | unmunge")
    assert decoded.rc == 0, decoded.stderr
    assert "STATUS:          Success" in decoded.stdout


def test_accounts_have_the_same_ids_on_every_node(node):
    for user in ("alice", "bob", "hpcadmin"):
        ids = {name: node(name).check_output(f"id {user}") for name in NODES}
        assert len(set(ids.values())) == 1, ids


def test_hub_port_is_published_on_loopback_only():
    published = subprocess.run(
        ["docker", "port", container_name("hub")], check=True, capture_output=True, text=True
    ).stdout.split("\n")
    assert [line for line in published if line] == [f"8443/tcp -> 127.0.0.1:{HUB_PORT}"], CLUSTER

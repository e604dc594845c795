"""The sbatch script holds validated values only; the user's variables stay out of it."""

from __future__ import annotations

import pytest

from hpclab.hub.batch_script import render_batch_script
from hpclab.hub.cluster import parse_sinfo
from hpclab.hub.options import validate_options
from hpclab.hub.slurm_policy import ClusterPolicy

PARTITIONS = parse_sinfo("cpu|cpu*|1-00:00:00|8|16000|gpu:2\n")
POLICY = ClusterPolicy(PARTITIONS).for_user("alice")


def render(raw, **overrides):
    arguments = {
        "server_name": "jupyterlab_nerf",
        "home": "/home/alice",
        "exported_names": ["JUPYTERHUB_API_TOKEN", "PATH"],
        "command": ["/sw/bin/hpclab-singleuser", "--kind=slurm", "--", "/sw/bin/jupyterhub-singleuser"],
    }
    arguments.update(overrides)
    return render_batch_script(validate_options(raw, POLICY), **arguments)


def test_script_carries_the_requested_allocation():
    script = render({"cpus": "2", "memory": "3G", "gpus": "1", "account": "proj01", "time": "90"})
    directives = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert directives == [
        "#SBATCH --job-name=jupyterhub-jupyterlab_nerf",
        "#SBATCH --partition=cpu",
        "#SBATCH --time=01:30:00",
        # Slurm's notice before the limit, to the batch shell (which execs the server).
        "#SBATCH --signal=B:USR1@90",
        "#SBATCH --nodes=1",
        "#SBATCH --no-requeue",
        "#SBATCH --ntasks=1",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --output=/dev/null",
        "#SBATCH --chdir=/home/alice",
        "#SBATCH --export=JUPYTERHUB_API_TOKEN,PATH",
        "#SBATCH --mem=3072M",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --account=proj01",
    ]
    assert script.splitlines()[0] == "#!/bin/bash -l"
    assert script.splitlines()[-1] == "exec /sw/bin/hpclab-singleuser --kind=slurm -- /sw/bin/jupyterhub-singleuser"


def test_user_variables_are_exported_by_name_only():
    raw = {"environment": {"EVIL": "x; rm -rf ~ #SBATCH --uid=0 $(id)"}}
    script = render(raw, exported_names=["JUPYTERHUB_API_TOKEN", "EVIL"])
    assert "rm -rf" not in script
    assert "#SBATCH --export=EVIL,JUPYTERHUB_API_TOKEN" in script


def test_server_command_is_shell_quoted():
    script = render({}, command=["/sw/bin/tool", "--arg=a b", "$(id)"])
    assert script.splitlines()[-1] == "exec /sw/bin/tool '--arg=a b' '$(id)'"


@pytest.mark.parametrize("name", ["A,B", "A=1", "A\n#SBATCH"])
def test_odd_variable_names_cannot_reach_the_export_line(name):
    with pytest.raises(ValueError, match="cannot export"):
        render({}, exported_names=[name])


def test_home_with_spaces_is_refused():
    with pytest.raises(ValueError, match="#SBATCH line"):
        render({}, home="/home/al ice")

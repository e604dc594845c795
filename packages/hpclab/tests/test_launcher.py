"""hpclab-singleuser: limits from the job's allocation and the log file's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_hub import fake_hub
from hpclab.lab.launcher import allocation_limits, log_path, prepare, start_server
from hpclab.lab.upstreams import SUPPORTED_RELEASE_LINES

NOON = 1_700_000_000.0


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"SLURM_MEM_PER_NODE": "2048", "SLURM_CPUS_PER_TASK": "2"}, {"MEM_LIMIT": "2147483648", "CPU_LIMIT": "2"}),
        ({"SLURM_MEM_PER_CPU": "512", "SLURM_CPUS_ON_NODE": "4"}, {"MEM_LIMIT": "2147483648", "CPU_LIMIT": "4"}),
        ({"SLURM_CPUS_ON_NODE": "3"}, {"CPU_LIMIT": "3"}),
        ({"SLURM_MEM_PER_NODE": "garbage"}, {}),
        ({}, {}),
    ],
)
def test_limits_come_from_the_allocation(environment, expected):
    assert allocation_limits(environment) == expected


def test_limits_the_hub_set_are_kept():
    environment = {"MEM_LIMIT": "5368709120", "SLURM_MEM_PER_NODE": "1024", "WORK": "/w/alice"}
    prepare(environment, "slurm", NOON)
    assert environment["MEM_LIMIT"] == "5368709120"


def test_log_names_say_which_server_and_job():
    slurm = {"WORK": "/w/alice", "JUPYTERHUB_SERVER_NAME": "jupyterlab_nerf", "SLURM_JOB_ID": "42"}
    assert log_path(slurm, "slurm", NOON) == Path("/w/alice/jupyter_spawner_logs/jupyterlab_nerf.slurm-42.log")
    interactive = {"WORK": "/w/alice", "HPCLAB_RUN_TAG": "20261127-120000"}
    assert log_path(interactive, "interactive", NOON).name == "default.interactive-20261127-120000.log"
    assert log_path({"HOME": "/home/bob"}, "interactive", NOON).parent == Path("/home/bob/jupyter_spawner_logs")


def test_launcher_reports_the_port_writes_the_log_and_runs_the_command(tmp_path):
    with fake_hub() as hub:
        environment = {
            **os.environ,
            "WORK": str(tmp_path),
            "SLURM_JOB_ID": "7",
            "SLURM_MEM_PER_NODE": "100",
            "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
            "JUPYTERHUB_API_URL": hub.url,
            "JUPYTERHUB_API_TOKEN": "token-7",
            "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:0/user/alice/",
        }
        command = ["sh", "-c", 'echo "limit=$MEM_LIMIT url=$JUPYTERHUB_SERVICE_URL"']
        subprocess.run(
            [sys.executable, "-m", "hpclab.lab.launcher", "--kind=slurm", "--", *command], env=environment, check=True
        )
    port = hub.fields()["port"]
    log = (tmp_path / "jupyter_spawner_logs" / "default.slurm-7.log").read_text()
    assert "slurm server default" in log
    # The server listens on the port the hub was told.
    assert log.splitlines()[-1] == f"limit={100 * 1024 * 1024} url=http://0.0.0.0:{port}/user/alice/"


def test_the_servers_runtime_files_stay_on_the_node_for_its_user_only(tmp_path):
    environment = {"HOME": "/home/alice", "TMPDIR": str(tmp_path)}
    environment["JUPYTER_RUNTIME_DIR"] = "/home/alice/.local/share/jupyter/runtime"
    prepare(environment, "slurm", NOON)
    runtime = Path(environment["JUPYTER_RUNTIME_DIR"])
    assert runtime.parent == tmp_path
    assert runtime.stat().st_mode & 0o777 == 0o700


def test_a_jupyter_environment_the_adapters_were_not_written_for_starts_no_server(monkeypatch, capsys):
    # jupyter_server would only log the apps extension's failed import and serve the Lab
    # without its owner-checked /proxy/<port>: the launcher refuses to start it at all.
    monkeypatch.setitem(SUPPORTED_RELEASE_LINES, "jupyter-client", ("0.0.",))
    monkeypatch.setattr(os, "execvpe", lambda *args: pytest.fail("the server was started"))
    with fake_hub() as hub:
        environment = {"JUPYTERHUB_API_URL": hub.url, "JUPYTERHUB_API_TOKEN": "token-1"}
        environment["JUPYTERHUB_SERVICE_URL"] = "http://127.0.0.1:8888/user/alice/"
        assert start_server(["jupyterhub-singleuser"], environment, "interactive") == 1
    error = hub.fields()["startup_error"]
    assert "jupyter-client 0.0.x" in error
    assert error in capsys.readouterr().out

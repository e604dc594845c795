"""What a launcher tells the hub: the port it picked, or why the server cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_hub import fake_hub
from hpclab.common.hub_api import TOKEN_HANDOVER_VARIABLE
from hpclab.lab.hub_report import (
    MAX_ERROR_LENGTH,
    TokenUnavailable,
    fetch_token,
    report_port,
    report_startup_error,
    with_port,
)


def test_the_port_goes_to_batchspawners_api_with_the_servers_token():
    with fake_hub() as hub:
        report_port({"JUPYTERHUB_API_URL": hub.url, "JUPYTERHUB_API_TOKEN": "secret"}, 43210)
    assert hub.posts == [("/hub/api/batchspawner", "token secret", {"port": 43210})]


def test_a_startup_error_is_sent_whole_up_to_a_limit():
    with fake_hub() as hub:
        report_startup_error({"JUPYTERHUB_API_URL": hub.url + "/", "JUPYTERHUB_API_TOKEN": "t"}, "x" * 5000)
    assert hub.fields() == {"startup_error": "x" * MAX_ERROR_LENGTH}


def test_the_service_url_gets_the_port():
    assert with_port("http://0.0.0.0:0/user/alice/", 5000) == "http://0.0.0.0:5000/user/alice/"
    assert with_port("http://[::1]:0/user/alice/lab2/", 5000) == "http://[::1]:5000/user/alice/lab2/"


def fake_munge(directory: Path) -> Path:
    """munge as the launcher calls it: it prints a credential that records its arguments."""
    script = directory / "munge"
    script.write_text('#!/bin/sh\nprintf "MUNGE:%s:\\n" "$*"\n')
    script.chmod(0o755)
    return directory


def test_a_slurm_server_fetches_its_token_with_a_munge_credential_for_the_hub_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_munge(tmp_path)}:/usr/bin:/bin")
    environment = {
        "JUPYTERHUB_API_URL": "",
        "JUPYTERHUB_USER": "alice",
        "JUPYTERHUB_SERVER_NAME": "gpu",
        TOKEN_HANDOVER_VARIABLE: "997",
    }
    with fake_hub() as hub:
        hub.answers["/hub/api/hpclab/server-token"] = {"token": "handed"}
        environment["JUPYTERHUB_API_URL"] = hub.url
        fetch_token(environment)
    [(path, authorization, body)] = hub.posts
    assert (path, authorization) == ("/hub/api/hpclab/server-token", "")
    assert body == {"credential": 'MUNGE:--restrict-uid=997 --string={"user": "alice", "server": "gpu"}:'}
    assert environment["JUPYTERHUB_API_TOKEN"] == environment["JPY_API_TOKEN"] == "handed"


def test_a_server_whose_token_came_with_the_job_asks_for_nothing():
    environment = {"JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api", "JUPYTERHUB_API_TOKEN": "t"}
    fetch_token(environment)
    assert environment["JUPYTERHUB_API_TOKEN"] == "t"


def test_the_hubs_reason_for_a_refusal_is_what_the_log_says(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_munge(tmp_path)}:/usr/bin:/bin")
    with fake_hub() as hub:
        hub.refusals["/hub/api/hpclab/server-token"] = (409, "alice:gpu is not a SLURM server that is starting")
        environment = {"JUPYTERHUB_API_URL": hub.url, TOKEN_HANDOVER_VARIABLE: "997"}
        with pytest.raises(TokenUnavailable, match=r"HTTP 409\): alice:gpu is not a SLURM server that is starting"):
            fetch_token(environment, pause=0)
    assert len(hub.posts) == 1
    assert "JUPYTERHUB_API_TOKEN" not in environment


def test_a_hub_that_cannot_check_credentials_now_is_asked_again(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_munge(tmp_path)}:/usr/bin:/bin")
    with fake_hub() as hub:
        hub.refusals["/hub/api/hpclab/server-token"] = (503, "munged is down")
        with pytest.raises(TokenUnavailable, match="munged is down"):
            fetch_token({"JUPYTERHUB_API_URL": hub.url, TOKEN_HANDOVER_VARIABLE: "997"}, attempts=3, pause=0)
    assert len(hub.posts) == 3


def test_a_missing_munge_is_said_plainly(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TokenUnavailable, match="munge cannot make a credential"):
        fetch_token({"JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api", TOKEN_HANDOVER_VARIABLE: "997"})

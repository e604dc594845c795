"""The node's report carries a port or a start-up error, nothing else."""

from __future__ import annotations

import json

import pytest

from hpclab.hub.node_report import NodeReport, NodeReportError, parse_node_report, token_owner


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_a_port_and_a_startup_error_are_what_a_node_reports():
    assert parse_node_report(body({"port": 8888})) == NodeReport(port=8888)
    assert parse_node_report(body({"startup_error": "no sandbox"})) == NodeReport(startup_error="no sandbox")


@pytest.mark.parametrize(
    "value",
    [
        {"sudo": ["/tmp/x/run"]},
        {"slurm_bin": "/tmp"},
        {"ip": "cn2", "port": 22},
        {"user": "bob"},
        {"port": "22; id"},
        {"port": 0},
        {"port": 70000},
        {"port": True},
        {"port": 22.0},
        {"port": 22, "startup_error": "x"},
        {"startup_error": ["not", "text"]},
        {"startup_error": "x" * 1001},
        {"startup_error": " "},
        {},
        ["port", 22],
        None,
    ],
)
def test_anything_else_is_refused_with_the_reason(value):
    with pytest.raises(NodeReportError, match=r"\w"):
        parse_node_report(body(value))


def test_a_body_that_is_not_json_is_refused():
    with pytest.raises(NodeReportError, match="not JSON"):
        parse_node_report(b"\xff{")


class Spawner:
    def __init__(self, token: str) -> None:
        self.api_token = token

    def accept_node_report(self, report: NodeReport) -> None:
        pass


class User:
    def __init__(self, **spawners: Spawner) -> None:
        self.spawners = spawners


def test_only_the_servers_own_token_finds_its_spawner():
    mine, other = Spawner("mine"), Spawner("other")
    user = User(a=mine, b=other)
    assert token_owner(user, "mine") is mine
    assert token_owner(user, "the user's own token") is None
    assert token_owner(user, None) is None
    assert token_owner(User(a=Spawner("")), "") is None
    # A service (no spawners) has no server to report for.
    assert token_owner(object(), "mine") is None

"""The root helper refuses what it must not run and never puts the token on a command line."""

from __future__ import annotations

import os
import pwd

import pytest

from hpclab.common.interactive_units import unit_name
from hpclab.hub.interactive import legacy_unit_name
from hpclab.hub.interactive_helper import (
    HelperError,
    check_root_owned,
    check_user,
    environment_file_text,
    parse_arguments,
)

USERS = {"min_uid": 1000, "max_uid": 59999, "allowed_groups": []}


def test_environment_file_quotes_values():
    text = environment_file_text({"B": 'say "hi" \\ now', "A": "$HOME"})
    assert text == 'A="$HOME"\nB="say \\"hi\\" \\\\ now"\n'


@pytest.mark.parametrize(
    "environment", [{"A": "x\ny"}, {"A B": "x"}, {"A": 1}, ["A=1"], {"A": "nul\x00"}, {"$(id)": "1"}]
)
def test_odd_environments_are_refused(environment):
    with pytest.raises(HelperError):
        environment_file_text(environment)


def test_system_accounts_are_refused():
    with pytest.raises(HelperError, match="system account"):
        check_user("root", USERS)


def test_accounts_above_the_user_range_are_refused():
    with pytest.raises(HelperError, match="system account"):
        check_user("nobody", USERS)


def test_unknown_users_are_refused():
    with pytest.raises(HelperError, match="no such user"):
        check_user("no-such-user-here", USERS)


def test_users_outside_the_allowed_groups_are_refused():
    me = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(HelperError, match="is not in"):
        check_user(me, {"min_uid": 0, "max_uid": 1 << 32, "allowed_groups": ["a-group-nobody-has"]})


def test_an_empty_group_list_allows_nobody():
    me = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(HelperError, match="is not in"):
        check_user(me, {"min_uid": 0, "max_uid": 1 << 32, "allowed_groups": []})


@pytest.mark.parametrize(
    "argv",
    [
        ["start", "root", "default", "--config", "/tmp/x.json"],
        ["start", "alice", "--config=/tmp/x.json"],
        ["start", "alice", "default", "extra"],
        ["start", "alice", ""],
        ["restart", "alice"],
        ["start"],
        ["start", "-alice"],
    ],
)
def test_arguments_other_than_action_user_and_server_are_refused(argv):
    with pytest.raises(HelperError):
        parse_arguments(argv)


def test_arguments():
    assert parse_arguments(["start", "alice"]) == ("start", "alice", "")
    assert parse_arguments(["stop", "ana-maria", "nerf.1"]) == ("stop", "ana-maria", "nerf.1")


def test_a_configuration_others_may_write_is_refused(tmp_path):
    config = tmp_path / "interactive.json"
    config.write_text("{}")
    with pytest.raises(HelperError, match="must belong to root"):
        check_root_owned(config)


@pytest.mark.parametrize("server", ["../x", "a b", "x;", "x" * 65])
def test_unit_names_refuse_odd_names(server):
    with pytest.raises(ValueError, match="unsupported"):
        unit_name(1000, server)


def test_unit_names_are_one_to_one():
    assert unit_name(1000, "") == "hpclab-interactive-1000.service"
    assert unit_name(1000, "default") == "hpclab-interactive-1000-default.service"
    assert unit_name(1000, "jupyterlab_nerf") == "hpclab-interactive-1000-jupyterlab_nerf.service"
    # ana's "maria-default" and ana-maria's default server: different uids, different units.
    assert unit_name(3801, "maria-default") != unit_name(3802, "")


def test_units_started_before_the_uid_names_are_still_named_for_their_stop():
    assert legacy_unit_name("alice", "") == "hpclab-interactive-alice-default.service"
    assert legacy_unit_name("alice", "nerf") == "hpclab-interactive-alice-nerf.service"

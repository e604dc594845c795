"""The root helper refuses what it must not run and never puts the token on a command line."""

from __future__ import annotations

import os
import pwd

import pytest

from hpclab.hub.interactive import unit_name
from hpclab.hub.interactive_helper import HelperError, check_user, environment_file_text


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
        check_user("root", {"min_uid": 1000, "allowed_groups": []})


def test_unknown_users_are_refused():
    with pytest.raises(HelperError, match="no such user"):
        check_user("no-such-user-here", {"min_uid": 1000, "allowed_groups": []})


def test_users_outside_the_allowed_groups_are_refused():
    me = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(HelperError, match="is not in"):
        check_user(me, {"min_uid": 0, "allowed_groups": ["a-group-nobody-has"]})


@pytest.mark.parametrize(("user", "server"), [("alice", "../x"), ("alice", "a b"), ("Alice;", ""), ("a", "x" * 65)])
def test_unit_names_refuse_odd_names(user, server):
    with pytest.raises(ValueError, match="unsupported"):
        unit_name(user, server)


def test_unit_names():
    assert unit_name("alice", "") == "hpclab-interactive-alice-default.service"
    assert unit_name("alice", "jupyterlab_nerf") == "hpclab-interactive-alice-jupyterlab_nerf.service"

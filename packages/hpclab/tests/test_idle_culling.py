"""The idle culler's rule: each server's own limit, from the state the hub saved."""

from datetime import UTC, datetime, timedelta

import pytest

from hpclab.hub.idle_culling import cull_idle_server, idle_stop_reason


@pytest.mark.parametrize(
    ("state", "idle_s", "culled"),
    [
        ({"kind": "interactive", "idle_timeout": 3600}, 3599, False),
        ({"kind": "interactive", "idle_timeout": 3600}, 3600, True),
        ({"kind": "slurm", "idle_timeout": 7200}, 3600, False),
        # Never: a limit of 0, a server started before limits existed, a state without one.
        ({"kind": "slurm", "idle_timeout": 0}, 10**6, False),
        ({"kind": "slurm"}, 10**6, False),
        (None, 10**6, False),
        ({"idle_timeout": "60"}, 10**6, False),
        ({"idle_timeout": True}, 10**6, False),
    ],
)
def test_each_server_is_culled_after_its_own_limit(state, idle_s, culled):
    server = {"name": "", "state": state}
    # The culler's own --timeout (inactive_limit) only sets how often it looks.
    assert cull_idle_server(inactive=timedelta(seconds=idle_s), inactive_limit=60, server=server) is culled


def test_a_server_stopped_past_its_limit_says_it_was_idle():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    # JupyterHub's database gives naive UTC times.
    long_ago = datetime(2026, 12, 7, 10, 30)
    assert idle_stop_reason(3600, long_ago, now) == (
        "Stopped as idle: no browser, kernel, terminal, app, CPU or GPU activity for 01:30:00 (the limit is 01:00:00)"
    )
    # Stopped by its user, or a server never culled: nothing to say.
    assert idle_stop_reason(3600, datetime(2026, 12, 7, 11, 30), now) == ""
    assert idle_stop_reason(0, long_ago, now) == ""
    assert idle_stop_reason(3600, None, now) == ""

"""The idle culler's rule: each server's own limit, from the state the hub saved."""

from datetime import timedelta

import pytest

from hpclab.hub.idle_culling import cull_idle_server


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

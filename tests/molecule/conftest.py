"""Fixtures that reach the simulated cluster's nodes through `docker exec`.

The cluster's containers are named <cluster>-<node>; Molecule sets HPCLAB_CLUSTER_NAME
so that these tests can also run against `make demo` (hpclab-demo) by hand.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable

import pytest
import testinfra
from testinfra.host import Host

CLUSTER = os.environ.get("HPCLAB_CLUSTER_NAME", "hpclab-demo")
HUB_PORT = os.environ.get("HPCLAB_HUB_PORT", "8443")
NODES = ("hub", "slurmctld", "cn1", "cn2")
MODULE_NODES = ("hub", "cn1", "cn2")


def container_name(node: str) -> str:
    return f"{CLUSTER}-{node}"


@pytest.fixture(scope="session")
def node() -> Callable[[str], Host]:
    """Root shell on a node of the cluster, by its host name."""
    hosts = {name: testinfra.get_host(f"docker://{container_name(name)}") for name in NODES}
    return hosts.__getitem__


def as_user(user: str, script: str) -> str:
    """A command that runs script in user's login shell (so Lmod and $WORK are set)."""
    return f"su - {shlex.quote(user)} -c {shlex.quote(script)}"

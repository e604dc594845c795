"""The private part of jupyter_client that the kernel spec manager uses, in one place."""

from __future__ import annotations

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

from hpclab.lab.upstreams import require

JUPYTER_CLIENT_VERSION = require("jupyter-client", __name__)


def stock_kernel_spec(manager: KernelSpecManager, name: str, resource_dir: str) -> KernelSpec:
    """The spec the stock manager reads for one kernel of its listing (it also knows the
    native kernel, which has no kernel.json of its own)."""
    return manager._get_kernel_spec_by_name(name, resource_dir)

"""jupyter-fs resources as users write them, made openable.

Users add file systems from the Settings editor with a name and an osfs:// URL, as the
user guide says; the editor fills in jupyter-fs's default type, fsspec, which cannot open
osfs:// URLs. Those are PyFilesystem URLs, so their type becomes pyfs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PYFILESYSTEM_SCHEMES = ("osfs://",)


def with_backend_type(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the resource, typed pyfs when its URL is a PyFilesystem one."""
    fixed = dict(resource)
    if str(fixed.get("url", "")).startswith(PYFILESYSTEM_SCHEMES):
        fixed["type"] = "pyfs"
    return fixed

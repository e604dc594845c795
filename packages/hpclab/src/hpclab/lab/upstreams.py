"""The upstream release lines the Lab's adapters were written for.

Each adapter checks its own line when imported; the launcher checks them all before the
server starts, because jupyter_server only logs an extension that fails to load: the Lab
would come up without, for example, the apps' owner-checked /proxy/<port>.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from hpclab.common.upstream import require_version

SUPPORTED_RELEASE_LINES: dict[str, tuple[str, ...]] = {
    "jupyter-server-proxy": ("4.",),
    "jupyter-client": ("8.",),
    "jupyter-server": ("2.",),
}


def require(package: str, adapter: str) -> str:
    return require_version(package, SUPPORTED_RELEASE_LINES[package], adapter)


def check_all() -> None:
    """Raise UnsupportedVersion for an installed release no adapter was written for. A
    package that is not installed is not checked: its extension does not load, and no
    stock code takes its place."""
    for package in SUPPORTED_RELEASE_LINES:
        try:
            version(package)
        except PackageNotFoundError:
            continue
        require(package, f"hpclab.lab ({package} adapter)")

"""The check each adapter of upstream private code makes when it is imported.

Private methods and attributes change without notice between releases; an adapter
written for one release line refuses to load on another, so that an upgrade fails at
start-up with the reason rather than at a distance, on a user's request.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


class UnsupportedVersion(RuntimeError):
    """The installed release of an upstream package is not one its adapter was written for."""


def require_version(package: str, release_lines: tuple[str, ...], adapter: str) -> str:
    """The installed version of package, if it starts with one of release_lines."""
    try:
        installed = version(package)
    except PackageNotFoundError as error:
        raise UnsupportedVersion(f"{adapter} needs {package}, which is not installed") from error
    if not installed.startswith(release_lines):
        lines = ", ".join(f"{line}x" for line in release_lines)
        raise UnsupportedVersion(
            f"{adapter} uses private parts of {package} {lines}; {installed} is installed: "
            "check that code against the new release and add its line"
        )
    return installed

"""hpclab_inline_icons: launcher entries with their icon file's SVG in place of its path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleFilterError


def _inlined(entry: Mapping[str, Any]) -> dict[str, Any]:
    path = entry.get("icon") or ""
    if not path:
        return dict(entry)
    try:
        svg = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise AnsibleFilterError(f"launcher icon of {entry.get('name') or entry.get('title')}: {error}") from error
    except UnicodeDecodeError:
        svg = ""
    if "<svg" not in svg:
        raise AnsibleFilterError(f"launcher icon {path} is not an SVG file")
    return {**entry, "icon": svg.strip()}


def hpclab_inline_icons(entries: Any) -> Any:
    """A list of entries, or entries by name, each icon (an SVG file's path on the control
    machine) replaced by the file's content."""
    if isinstance(entries, Mapping):
        return {name: _inlined(entry) for name, entry in entries.items()}
    return [_inlined(entry) for entry in entries]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"hpclab_inline_icons": hpclab_inline_icons}

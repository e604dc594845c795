"""hpclab_pinned: the pinned requirements of some packages, from files/python-versions.txt."""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(constraints: str) -> dict[str, str]:
    """Canonical name -> 'name==version', from pip constraints text (comments allowed)."""
    pins: dict[str, str] = {}
    for line in constraints.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.fullmatch(line)
        if match is None:
            raise AnsibleFilterError(f"python-versions.txt: {line!r} is not name==version")
        name = _canonical(match.group(1))
        if name in pins:
            raise AnsibleFilterError(f"python-versions.txt pins {match.group(1)} twice")
        pins[name] = line
    return pins


def hpclab_pinned(names: list[str], constraints: str) -> list[str]:
    """names as 'name==version'; a name without a pin fails the play."""
    pins = parse_pins(constraints)
    missing = [name for name in names if _canonical(name) not in pins]
    if missing:
        raise AnsibleFilterError(f"no version for {', '.join(missing)} in files/python-versions.txt")
    return [pins[_canonical(name)] for name in names]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"hpclab_pinned": hpclab_pinned}

"""The site's named presets: a preset is a set of form fields, which the user's own
fields override, validated afterwards like any other input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .options import OptionsError

PRESET_FIELD = "preset"


def preset_named(name: str, presets: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    for preset in presets:
        if preset.get("name") == name:
            return preset
    names = ", ".join(repr(str(preset.get("name"))) for preset in presets) or "none"
    raise OptionsError(f"preset: {name!r} is not one of this cluster's presets ({names})")


def expand_preset(raw: Mapping[str, Any], presets: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """raw's fields over those of the preset it names (fields left empty take the preset's)."""
    name = raw.get(PRESET_FIELD)
    if name in (None, ""):
        return raw
    if not isinstance(name, str):
        raise OptionsError(f"preset: expected a preset's name, got {type(name).__name__}")
    own = {field: value for field, value in raw.items() if field != PRESET_FIELD and value not in ("", None)}
    return {**preset_named(name, presets).get("options", {}), **own}

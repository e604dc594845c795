"""What an environment variable may be, wherever the hub hands one on (the spawn form,
the root helper's systemd EnvironmentFile): the same rules in both places."""

from __future__ import annotations

import re

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Everything below a space but the tab, and DEL: line breaks would start a new variable.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

"""Slurm durations: the formats sbatch --time and slurm.conf MaxTime accept."""

from __future__ import annotations

import re

UNLIMITED = None
_FORMS = (
    # D-HH, D-HH:MM, D-HH:MM:SS
    re.compile(r"(?P<d>[0-9]{1,7})-(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{1,2})(?::(?P<s>[0-9]{1,2}))?)?"),
    # HH:MM:SS
    re.compile(r"(?P<h>[0-9]{1,7}):(?P<m>[0-9]{1,2}):(?P<s>[0-9]{1,2})"),
    # MM:SS
    re.compile(r"(?P<m>[0-9]{1,7}):(?P<s>[0-9]{1,2})"),
    # MM
    re.compile(r"(?P<m>[0-9]{1,7})"),
)


class SlurmTimeError(ValueError):
    pass


def parse_slurm_time(text: str) -> int | None:
    """Seconds in a Slurm duration; None for UNLIMITED/INFINITE."""
    value = text.strip()
    if value.upper() in ("UNLIMITED", "INFINITE"):
        return UNLIMITED
    for form in _FORMS:
        match = form.fullmatch(value)
        if match:
            parts = {key: int(number) for key, number in match.groupdict(default="0").items()}
            hours = parts.get("d", 0) * 24 + parts.get("h", 0)
            return (hours * 60 + parts.get("m", 0)) * 60 + parts.get("s", 0)
    raise SlurmTimeError(f"{text!r} is not a Slurm time (use minutes, HH:MM:SS or D-HH:MM:SS)")


def format_slurm_time(seconds: int) -> str:
    """D-HH:MM:SS, the form sbatch and squeue print."""
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock

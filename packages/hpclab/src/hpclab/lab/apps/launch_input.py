"""The launch dialog's input, turned into an argument list and environment variables.

Shell expansion as users expect it from a terminal ($VAR, ${VAR}, ~ at the start of a
word, quotes), but no shell: nothing is executed, no glob, no command substitution, and
every word stays one argument of the application's own command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_ARGUMENTS = 64
MAX_VARIABLES = 32
MAX_TEXT = 8192
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class LaunchInputError(ValueError):
    pass


@dataclass(frozen=True)
class LaunchInput:
    arguments: tuple[str, ...]
    environment: dict[str, str]


def expand(word: str, environment: Mapping[str, str]) -> str:
    """$VAR and ${VAR} from the environment (unset: empty, as in a shell), ~ and ~/ as $HOME."""
    if word == "~" or word.startswith("~/"):
        word = environment.get("HOME", "~") + word[1:]
    return _REFERENCE.sub(lambda match: environment.get(match.group(1) or match.group(2), ""), word)


def _checked_text(text: str, what: str) -> str:
    if not isinstance(text, str):
        raise LaunchInputError(f"{what} must be text")
    if len(text) > MAX_TEXT:
        raise LaunchInputError(f"{what}: at most {MAX_TEXT} characters")
    if "\0" in text:
        raise LaunchInputError(f"{what}: NUL characters are not allowed")
    return text


def parse_environment(text: str, base: Mapping[str, str]) -> dict[str, str]:
    """NAME=value lines; a value may use variables of the server and of earlier lines."""
    variables: dict[str, str] = {}
    for number, line in enumerate(_checked_text(text, "environment").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, equals, value = line.strip().partition("=")
        if not equals or not VARIABLE_NAME.fullmatch(name):
            raise LaunchInputError(f"environment line {number}: expected NAME=value, got {line.strip()!r}")
        words = shlex.split(value) if value.strip() else [""]
        if len(words) != 1:
            raise LaunchInputError(f"environment line {number}: quote a value that has spaces")
        variables[name] = expand(words[0], {**base, **variables})
    if len(variables) > MAX_VARIABLES:
        raise LaunchInputError(f"environment: at most {MAX_VARIABLES} variables")
    return variables


def parse_arguments(text: str, environment: Mapping[str, str]) -> tuple[str, ...]:
    try:
        words = shlex.split(_checked_text(text, "arguments"))
    except ValueError as error:
        raise LaunchInputError(f"arguments: {error}") from error
    if len(words) > MAX_ARGUMENTS:
        raise LaunchInputError(f"arguments: at most {MAX_ARGUMENTS}")
    return tuple(expand(word, environment) for word in words)


def missing_required(arguments: Sequence[str], required: Sequence[str]) -> list[str]:
    return [flag for flag in required if not any(word == flag or word.startswith(f"{flag}=") for word in arguments)]


def parse_launch_input(
    arguments_text: str, environment_text: str, server_environment: Mapping[str, str], required: Sequence[str]
) -> LaunchInput:
    environment = parse_environment(environment_text, server_environment)
    arguments = parse_arguments(arguments_text, {**server_environment, **environment})
    missing = missing_required(arguments, required)
    if missing:
        raise LaunchInputError(f"this application needs {' and '.join(missing)} in its arguments")
    return LaunchInput(arguments, environment)

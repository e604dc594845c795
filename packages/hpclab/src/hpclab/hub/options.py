"""Validation of what a user asks for in the spawn form or the REST API.

Everything a user types is checked here before anything runs: values that end up on an
#SBATCH line must match strict patterns, and variables go to the job's environment,
never into a script. A problem raises OptionsError with a message meant for the user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .cluster import Partition
from .slurm_time import SlurmTimeError, format_slurm_time, parse_slurm_time
from .variables import CONTROL_CHARACTERS, VARIABLE_NAME

KIND_NAMES = ("interactive", "slurm")
# What a request that names no kind gets (the form preselects it too).
DEFAULT_KIND = "slurm"
MAX_FIELD_LENGTH = 256
MAX_VARIABLES = 64
MAX_VALUE_LENGTH = 4096
_ACCOUNT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# ASCII only: str.isdigit() and \d accept "²" and "١٢", which int() then refuses or reads.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
_MEMORY = re.compile(r"(?P<amount>[0-9]{1,9}) *(?P<unit>[KMGT]?)B?", re.IGNORECASE | re.ASCII)
# Variables the hub or the batch system sets for the server itself.
RESERVED_PREFIXES = ("JUPYTERHUB_", "JPY_", "SLURM_", "HPCLAB_", "SBATCH_")
RESERVED_NAMES = frozenset({"MEM_LIMIT", "CPU_LIMIT"})
_MB_PER_UNIT = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}


class OptionsError(ValueError):
    """Bad input; the message is shown to the user as it is."""


@dataclass(frozen=True)
class SpawnOptions:
    kind: str
    partition: str = ""
    account: str = ""
    time_seconds: int = 0
    cpus: int = 1
    memory_mb: int = 0
    gpus: int = 0
    sandbox: bool = False
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def slurm_time(self) -> str:
        return format_slurm_time(self.time_seconds)


def flatten_form(form: Mapping[str, list[str]]) -> dict[str, str]:
    """HTML form data (name -> list of values) to single values; repeated fields are refused."""
    flat = {}
    for name, values in form.items():
        if len(values) != 1:
            raise OptionsError(f"Field {name!r} was sent {len(values)} times")
        flat[name] = values[0]
    return flat


def _text(raw: Mapping[str, Any], name: str, default: str = "") -> str:
    value = raw.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise OptionsError(f"{name}: expected text, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > MAX_FIELD_LENGTH:
        raise OptionsError(f"{name}: at most {MAX_FIELD_LENGTH} characters")
    if CONTROL_CHARACTERS.search(text):
        raise OptionsError(f"{name}: line breaks and control characters are not allowed")
    return text


def _integer(raw: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    text = _text(raw, name, str(default)) or str(default)
    if not _WHOLE_NUMBER.fullmatch(text):
        raise OptionsError(f"{name}: {text!r} is not a whole number (digits 0-9)")
    number = int(text)
    if not low <= number <= high:
        raise OptionsError(f"{name}: {number} is outside {low}-{high}")
    return number


def _flag(raw: Mapping[str, Any], name: str) -> bool:
    """A checkbox ("on" when ticked, absent otherwise) or a JSON boolean."""
    value = raw.get(name, False)
    if isinstance(value, bool):
        return value
    text = _text(raw, name).lower()
    if text in ("", "off", "false", "0"):
        return False
    if text in ("on", "true", "1"):
        return True
    raise OptionsError(f"{name}: {text!r} is neither on nor off")


def parse_memory_mb(text: str) -> int:
    """'4G', '512M', '2048' (MB) to megabytes."""
    match = _MEMORY.fullmatch(text)
    if not match:
        raise OptionsError(f"memory: {text!r} is not a size such as 512M or 4G")
    megabytes = int(int(match["amount"]) * _MB_PER_UNIT[match["unit"].upper()])
    if megabytes < 1:
        raise OptionsError("memory: at least 1M")
    return megabytes


def parse_environment(value: Any) -> dict[str, str]:
    """NAME=value lines (the form's text box) or a mapping (the REST API)."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        pairs = []
        for number, line in enumerate(value.replace("\r\n", "\n").split("\n"), start=1):
            if not line.strip():
                continue
            name, separator, text = line.partition("=")
            if not separator:
                raise OptionsError(f"environment line {number}: expected NAME=value")
            pairs.append((name.strip(), text))
    elif isinstance(value, Mapping):
        pairs = [(str(name), text) for name, text in value.items()]
    else:
        raise OptionsError("environment: expected NAME=value lines")
    if len(pairs) > MAX_VARIABLES:
        raise OptionsError(f"environment: at most {MAX_VARIABLES} variables")
    environment: dict[str, str] = {}
    for name, text in pairs:
        if not VARIABLE_NAME.fullmatch(name):
            raise OptionsError(f"environment: {name!r} is not a variable name (letters, digits, _)")
        if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
            raise OptionsError(f"environment: {name} is set by the service and cannot be changed")
        if not isinstance(text, str):
            raise OptionsError(f"environment: the value of {name} must be text")
        if len(text) > MAX_VALUE_LENGTH:
            raise OptionsError(f"environment: the value of {name} is longer than {MAX_VALUE_LENGTH}")
        if CONTROL_CHARACTERS.search(text):
            raise OptionsError(f"environment: the value of {name} contains a line break or control character")
        environment[name] = text
    return environment


def _partition(raw: Mapping[str, Any], partitions: Mapping[str, Partition]) -> Partition:
    name = _text(raw, "partition")
    if not name:
        defaults = [partition for partition in partitions.values() if partition.default]
        if not defaults:
            raise OptionsError("partition: choose a partition")
        return defaults[0]
    if name not in partitions:
        raise OptionsError(f"partition: {name!r} is not a partition of this cluster ({', '.join(sorted(partitions))})")
    return partitions[name]


def _time_seconds(raw: Mapping[str, Any], partition: Partition) -> int:
    text = _text(raw, "time", "01:00:00") or "01:00:00"
    try:
        seconds = parse_slurm_time(text)
    except SlurmTimeError as error:
        raise OptionsError(f"time: {error}") from error
    if seconds is None or seconds <= 0:
        raise OptionsError("time: give a positive time limit")
    if partition.max_time_seconds is not None and seconds > partition.max_time_seconds:
        raise OptionsError(
            f"time: {format_slurm_time(seconds)} exceeds the {partition.name} partition's limit of "
            f"{format_slurm_time(partition.max_time_seconds)}"
        )
    return seconds


def validate_options(
    raw: Mapping[str, Any], partitions: Mapping[str, Partition], *, sandbox_enabled: bool = True
) -> SpawnOptions:
    """Checked options from a form or API request; raises OptionsError on the first problem."""
    if not isinstance(raw, Mapping):
        raise OptionsError("options must be an object")
    kind = _text(raw, "kind", DEFAULT_KIND) or DEFAULT_KIND
    if kind not in KIND_NAMES:
        raise OptionsError(f"kind: {kind!r} is not one of {', '.join(KIND_NAMES)}")
    environment = parse_environment(raw.get("environment"))
    sandbox = _flag(raw, "sandbox")
    if sandbox and not sandbox_enabled:
        raise OptionsError("sandbox: the sandbox mode is not offered on this cluster")
    if kind == "interactive":
        return SpawnOptions(kind=kind, sandbox=sandbox, environment=environment)

    partition = _partition(raw, partitions)
    account = _text(raw, "account")
    if account and not _ACCOUNT.fullmatch(account):
        raise OptionsError(f"account: {account!r} is not an account name (letters, digits, . _ -)")
    cpus = _integer(raw, "cpus", 1, 1, max(partition.max_cpus, 1))
    memory_text = _text(raw, "memory")
    memory_mb = parse_memory_mb(memory_text) if memory_text else 0
    if partition.max_memory_mb and memory_mb > partition.max_memory_mb:
        raise OptionsError(f"memory: {memory_mb}M exceeds the {partition.max_memory_mb}M of a {partition.name} node")
    gpus = _integer(raw, "gpus", 0, 0, 64)
    if gpus > partition.max_gpus:
        available = f"at most {partition.max_gpus}" if partition.max_gpus else "no"
        raise OptionsError(f"gpus: the {partition.name} partition has {available} GPUs per node")
    return SpawnOptions(
        kind=kind,
        partition=partition.name,
        account=account,
        time_seconds=_time_seconds(raw, partition),
        cpus=cpus,
        memory_mb=memory_mb,
        gpus=gpus,
        sandbox=sandbox,
        environment=environment,
    )

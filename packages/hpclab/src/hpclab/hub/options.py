"""Validation of what a user asks for in the spawn form or the REST API.

Everything a user types is checked here before anything runs: values that end up on an
#SBATCH line must match strict patterns, and variables go to the job's environment,
never into a script. A problem raises OptionsError with a message meant for the user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cluster import Partition
from .slurm_time import SlurmTimeError, format_slurm_time, parse_slurm_time
from .variables import CONTROL_CHARACTERS, VARIABLE_NAME

if TYPE_CHECKING:
    # slurm_policy reads scontrol through slurm_jobs, which needs these options.
    from .slurm_policy import UserPolicy

KIND_NAMES = ("interactive", "slurm")
# What a request that names no kind gets (the form preselects it too).
DEFAULT_KIND = "slurm"
MAX_FIELD_LENGTH = 256
MAX_VARIABLES = 64
MAX_VALUE_LENGTH = 4096
# Account, QoS, reservation and GPU type names.
_SLURM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DEFAULT_TIME_SECONDS = 3600
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
    qos: str = ""
    reservation: str = ""
    time_seconds: int = 0
    cpus: int = 1
    memory_mb: int = 0
    gpus: int = 0
    gpu_type: str = ""
    sandbox: bool = False
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def slurm_time(self) -> str:
        return format_slurm_time(self.time_seconds)


# Sent with a form but not an option: JupyterHub would save it with the options, and
# the home page's "start again" would post a stale token.
_NOT_OPTIONS = frozenset({"_xsrf"})


def flatten_form(form: Mapping[str, list[str]]) -> dict[str, str]:
    """HTML form data (name -> list of values) to single values; repeated fields are refused."""
    flat = {}
    for name, values in form.items():
        if name in _NOT_OPTIONS:
            continue
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


def _name(raw: Mapping[str, Any], field: str) -> str:
    name = _text(raw, field)
    if name and not _SLURM_NAME.fullmatch(name):
        raise OptionsError(f"{field}: {name!r} is not a Slurm name (letters, digits, . _ -)")
    return name


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


def _account_and_qos(raw: Mapping[str, Any], policy: UserPolicy) -> tuple[str, str]:
    """The account (the user's default when none is given) and its QoS (the account's
    default QoS when none is given), both checked when the accounting database is known."""
    account = _name(raw, "account") or policy.default_account
    if refusal := policy.account_refusal(account):
        raise OptionsError(f"account: {refusal}")
    qos = _name(raw, "qos") or policy.default_qos(account)
    if refusal := policy.qos_refusal(account, qos):
        raise OptionsError(f"qos: {refusal}")
    return account, qos


def _reservation(raw: Mapping[str, Any], policy: UserPolicy, account: str) -> str:
    name = _name(raw, "reservation")
    if not name:
        return ""
    reservation = policy.reservation(name)
    if reservation is None:
        yours = ", ".join(sorted(found.name for found in policy.reservations)) or "none"
        raise OptionsError(f"reservation: {name!r} is not a reservation you may use (yours: {yours})")
    if account and not reservation.admits(policy.user, [account]):
        raise OptionsError(f"reservation: {name} is not open to jobs of the {account} account")
    return name


def _time_seconds(raw: Mapping[str, Any], policy: UserPolicy, partition: Partition, account: str, qos: str) -> int:
    bound = policy.time_bound(partition, account, qos)
    default = min(DEFAULT_TIME_SECONDS, bound.seconds or DEFAULT_TIME_SECONDS)
    text = _text(raw, "time") or format_slurm_time(default)
    try:
        seconds = parse_slurm_time(text)
    except SlurmTimeError as error:
        raise OptionsError(f"time: {error}") from error
    if seconds is None or seconds <= 0:
        raise OptionsError("time: give a positive time limit")
    if bound.seconds is not None and seconds > bound.seconds:
        raise OptionsError(
            f"time: {format_slurm_time(seconds)} exceeds {bound.set_by}, {format_slurm_time(bound.seconds)}"
        )
    return seconds


def _gpus(raw: Mapping[str, Any], partition: Partition) -> tuple[int, str]:
    gpus = _integer(raw, "gpus", 0, 0, 64)
    gpu_type = _name(raw, "gpu_type")
    if gpu_type and gpu_type not in partition.gpu_types:
        offered = ", ".join(sorted(kind for kind in partition.gpu_types if kind)) or "none"
        raise OptionsError(f"gpu_type: the {partition.name} partition has no {gpu_type!r} GPUs (types: {offered})")
    most = partition.gpu_types[gpu_type] if gpu_type else partition.max_gpus
    if gpus > most:
        available = f"at most {most}" if most else "no"
        what = f"{gpu_type} GPUs" if gpu_type else "GPUs"
        raise OptionsError(f"gpus: the {partition.name} partition has {available} {what} per node")
    return gpus, gpu_type if gpus else ""


def validate_options(raw: Mapping[str, Any], policy: UserPolicy, *, sandbox_enabled: bool = True) -> SpawnOptions:
    """Checked options from a form or API request, against what Slurm lets this user ask
    for; raises OptionsError on the first problem."""
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

    partition = _partition(raw, policy.partitions)
    account, qos = _account_and_qos(raw, policy)
    if refusal := policy.partition_refusal(partition.name, account, qos):
        raise OptionsError(f"partition: {refusal}")
    cpus = _integer(raw, "cpus", 1, 1, max(partition.max_cpus, 1))
    memory_text = _text(raw, "memory")
    memory_mb = parse_memory_mb(memory_text) if memory_text else 0
    if partition.max_memory_mb and memory_mb > partition.max_memory_mb:
        raise OptionsError(f"memory: {memory_mb}M exceeds the {partition.max_memory_mb}M of a {partition.name} node")
    gpus, gpu_type = _gpus(raw, partition)
    return SpawnOptions(
        kind=kind,
        partition=partition.name,
        account=account,
        qos=qos,
        reservation=_reservation(raw, policy, account),
        time_seconds=_time_seconds(raw, policy, partition, account, qos),
        cpus=cpus,
        memory_mb=memory_mb,
        gpus=gpus,
        gpu_type=gpu_type,
        sandbox=sandbox,
        environment=environment,
    )

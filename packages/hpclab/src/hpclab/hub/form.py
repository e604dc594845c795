"""The spawn form: presets, server kind, and for SLURM what this user may ask for.

Everything the form offers comes from the user's view of the cluster's policy
(slurm_policy.py), already read: rendering it runs no Slurm command. The limits of
each account, QoS and partition are worked out here, once, and given to the page's
script as data, so that the page shows the same bounds the hub checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape

from .commands import CommandError
from .options import DEFAULT_KIND, OptionsError, validate_options
from .presets import expand_preset
from .slurm_policy import UserPolicy
from .slurm_time import format_slurm_time

_TEMPLATES = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
_FORM = _TEMPLATES.from_string((files("hpclab.hub") / "templates" / "spawn_form.html").read_text())


def _limits(policy: UserPolicy, accounts: Sequence[str], qos_of: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """account -> QoS -> partition -> the time bound and what sets it, or why it is refused."""
    table: dict[str, Any] = {}
    for account in accounts:
        for qos in qos_of.get(account) or [""]:
            for partition in policy.partitions.values():
                bound = policy.time_bound(partition, account, qos)
                table.setdefault(account, {}).setdefault(qos, {})[partition.name] = {
                    "seconds": bound.seconds,
                    "text": "no limit" if bound.seconds is None else format_slurm_time(bound.seconds),
                    "setBy": bound.set_by,
                    "refusal": policy.partition_refusal(partition.name, account, qos),
                }
    return table


def usable_presets(
    policy: UserPolicy, presets: Sequence[Mapping[str, Any]], sandbox_enabled: bool
) -> list[dict[str, Any]]:
    """The presets this user's options allow (one for another project's reservation is not shown)."""
    usable = []
    for preset in presets:
        try:
            validate_options(
                expand_preset({"preset": preset["name"]}, presets), policy, sandbox_enabled=sandbox_enabled
            )
        except OptionsError:
            continue
        usable.append(
            {"name": preset["name"], "description": preset.get("description", ""), "options": preset.get("options", {})}
        )
    return usable


def form_view(policy: UserPolicy, presets: Sequence[Mapping[str, Any]], sandbox_enabled: bool) -> dict[str, Any]:
    """What the form's script needs, as JSON-able data."""
    associations = policy.associations or {}
    accounts = sorted(associations) if policy.knows_accounts else [""]
    qos_of = {name: list(association.qos) for name, association in associations.items()}
    return {
        "knowsAccounts": policy.knows_accounts,
        "defaultAccount": policy.default_account,
        "accounts": [
            {"name": name, "qos": qos_of.get(name, []), "defaultQos": policy.default_qos(name)} for name in accounts
        ],
        "partitions": {
            partition.name: {
                "default": partition.default,
                "maxCpus": partition.max_cpus,
                "maxGpus": partition.max_gpus,
                "gpuTypes": partition.gpu_types,
            }
            for partition in policy.partitions.values()
        },
        "limits": _limits(policy, accounts, qos_of),
        "reservations": [
            {
                "name": found.name,
                "start": found.start,
                "end": found.end,
                "partition": found.partition,
                "nodes": found.nodes,
            }
            for found in policy.reservations
        ],
        "presets": usable_presets(policy, presets, sandbox_enabled),
    }


def _previous_environment(previous: Mapping[str, Any]) -> str:
    """The last start's variables as the text box shows them (the REST API sends a mapping)."""
    environment = previous.get("environment")
    if isinstance(environment, Mapping):
        return "\n".join(f"{name}={value}" for name, value in environment.items())
    return environment if isinstance(environment, str) else ""


async def render_options_form(spawner: Any) -> str:
    """HTML of the form for this spawner (JupyterHub calls options_form with the spawner)."""
    try:
        policy = await spawner.user_policy()
        view = form_view(policy, spawner.presets, spawner.sandbox_enabled)
        partitions = sorted(policy.partitions.values(), key=lambda partition: partition.name)
        error = ""
    except CommandError as failure:
        policy, view, partitions = None, None, []
        error = f"The cluster's partitions could not be read ({failure}); SLURM servers are unavailable."
    previous = spawner.user_options or {}
    return _FORM.render(
        policy=policy,
        view=view,
        # Inside <script>, where entities are not decoded: only "<" could end it early.
        view_json=json.dumps(view).replace("<", "\\u003c"),
        partitions=partitions,
        error=error,
        default_kind=DEFAULT_KIND,
        previous=previous,
        previous_environment=_previous_environment(previous),
        interactive_memory_gib=spawner.interactive_memory_bytes / 1024**3,
        sandbox_enabled=spawner.sandbox_enabled,
        format_time=lambda seconds: "no limit" if seconds is None else format_slurm_time(seconds),
    )

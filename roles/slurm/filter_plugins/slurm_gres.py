"""Generic resources (GPUs) of the Slurm nodes: GresTypes and gres.conf, from data.

A node line of slurm_nodes declares its resources with Slurm's own Gres key
("gpu:2", "gpu:a100:4", "gpu:a100:2,gpu:t4:1", or a list of those). slurm.conf then
needs GresTypes naming every declared resource, and slurmd needs gres.conf to know
which device files are the node's GPUs: without them a Gres line makes slurmctld and
slurmd refuse the node. These filters derive both, and list what would make them wrong.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

# "<name>[:<type>][:no_consume]:<number>[K|M|G|T|P]" (slurm.conf(5), Gres).
_GRES_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9_.-]+)(?::(?P<type>[A-Za-z0-9_.-]+))??(?::(?P<no_consume>no_consume))?"
    r":(?P<count>[0-9]+)(?P<suffix>[KMGTP]?)$"
)
_GPU_DEVICE_PREFIX = "/dev/nvidia"


class GresSpec(NamedTuple):
    name: str
    type: str | None
    count: int
    plain_count: bool


def _specs_text(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value]
    return [part.strip() for part in str(value).split(",")]


def parse_gres(value: object) -> list[GresSpec]:
    """The resources of one Gres value; ValueError names the first malformed entry."""
    specs = []
    for text in _specs_text(value):
        match = _GRES_RE.match(text)
        if not match or match["type"] == "no_consume":
            raise ValueError(f"{text!r} is not <name>[:<type>][:no_consume]:<count>")
        specs.append(GresSpec(match["name"], match["type"], int(match["count"]), not match["suffix"]))
    return specs


def _gres_nodes(nodes: list[dict[str, Any]]) -> list[tuple[str, list[GresSpec]]]:
    """(NodeName, resources) of each node line that declares a well-formed Gres."""
    result = []
    for node in nodes:
        if node.get("Gres") in (None, "", []):
            continue
        try:
            result.append((str(node.get("NodeName")), parse_gres(node["Gres"])))
        except ValueError:
            continue
    return result


def slurm_gres_types(nodes: list[dict[str, Any]]) -> list[str]:
    """GresTypes for slurm.conf: every resource name the nodes declare, sorted."""
    return sorted({spec.name for _, specs in _gres_nodes(nodes) for spec in specs})


def _device_files(first: int, count: int) -> str:
    last = first + count - 1
    return f"{_GPU_DEVICE_PREFIX}{first}" if count == 1 else f"{_GPU_DEVICE_PREFIX}[{first}-{last}]"


def _derived_lines(node_name: str, specs: list[GresSpec]) -> list[dict[str, Any]]:
    """One line per GPU type, device files numbered from 0 in the order of Gres."""
    lines = []
    index = 0
    for spec in specs:
        if spec.name != "gpu":
            continue
        line: dict[str, Any] = {"NodeName": node_name, "Name": "gpu"}
        if spec.type:
            line["Type"] = spec.type
        line["File"] = _device_files(index, spec.count)
        lines.append(line)
        index += spec.count
    return lines


def slurm_gres_conf(nodes: list[dict[str, Any]], node_lines: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The lines of gres.conf, NodeName first: the site's lines for a node line given in
    node_lines (slurm_gres_nodes), derived GPU lines for the other nodes declaring GPUs."""
    lines: list[dict[str, Any]] = []
    for node_name, specs in _gres_nodes(nodes):
        if node_name in node_lines:
            lines.extend({"NodeName": node_name, **line} for line in node_lines[node_name] or [])
        else:
            lines.extend(_derived_lines(node_name, specs))
    return lines


def _node_problems(node: dict[str, Any], index: int, node_lines: dict[str, Any]) -> list[str]:
    name = node.get("NodeName", f"slurm_nodes[{index}]")
    try:
        specs = parse_gres(node["Gres"])
    except ValueError as error:
        return [f"node {name}: Gres {error}"]
    problems = []
    typed = {spec.name for spec in specs if spec.type}
    untyped = {spec.name for spec in specs if not spec.type}
    problems.extend(
        f"node {name}: Gres {resource} is declared both with and without a type" for resource in sorted(typed & untyped)
    )
    if str(name) not in node_lines and any(spec.name == "gpu" and not spec.plain_count for spec in specs):
        problems.append(f"node {name}: a GPU count takes no K/M/G suffix")
    return problems


def _line_problems(node_name: str, lines: object) -> list[str]:
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        return [f"slurm_gres_nodes[{node_name}] must be a list of gres.conf lines (dicts of Slurm's keys)"]
    problems = []
    for line in lines:
        if "NodeName" in line:
            problems.append(f"slurm_gres_nodes[{node_name}]: a line has no NodeName of its own (it is the key)")
        if "Name" not in line and "AutoDetect" not in line:
            problems.append(f"slurm_gres_nodes[{node_name}]: a line needs Name (or AutoDetect)")
    return problems


def slurm_gres_problems(
    nodes: list[dict[str, Any]], node_lines: dict[str, Any], config: dict[str, Any] | None = None
) -> list[str]:
    """Every problem found in the GRES data; empty when it is sound. config is the
    effective slurm.conf: a site's own GresTypes must name every declared resource."""
    problems = []
    for index, node in enumerate(nodes):
        if node.get("Gres") not in (None, "", []):
            problems.extend(_node_problems(node, index, node_lines))
    declared = {str(node.get("NodeName")) for node in nodes}
    for node_name, lines in node_lines.items():
        if node_name not in declared:
            problems.append(f"slurm_gres_nodes: {node_name} is not a NodeName of slurm_nodes")
        problems.extend(_line_problems(node_name, lines))
    gres_types = (config or {}).get("GresTypes")
    if gres_types is not None:
        listed = set(_specs_text(gres_types))
        missing = [name for name in slurm_gres_types(nodes) if name not in listed]
        if missing:
            problems.append(f"GresTypes ({','.join(sorted(listed))}) lacks {', '.join(missing)}, declared by nodes")
    return problems


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "slurm_gres_types": slurm_gres_types,
            "slurm_gres_conf": slurm_gres_conf,
            "slurm_gres_problems": slurm_gres_problems,
        }

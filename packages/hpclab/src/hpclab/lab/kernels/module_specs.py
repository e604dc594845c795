"""Kernel specs of the modules in the index, ready for a kernel spec manager.

Each kernel is named lmod.<module>.<kernel directory> (lower case, [a-z0-9._-]) and shown
as "<display name> (<module>)". Its command becomes hpclab-module-kernel, which loads the
module in a clean environment and then replaces itself with the kernel's own command.
A kernel.json that is unreadable or malformed is skipped; the others still appear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME_PREFIX = "lmod"
_INVALID_NAME_CHARACTERS = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class ModuleKernel:
    name: str
    module: str
    resource_dir: str
    spec: dict[str, Any]


def kernel_name(module: str, kernel_directory: str) -> str:
    """A stable, valid kernel name: lmod.python-3.11-base.python3 for python/3.11-base."""

    def slug(text: str) -> str:
        return _INVALID_NAME_CHARACTERS.sub("-", text.lower()).strip("-.") or "x"

    return f"{NAME_PREFIX}.{slug(module.replace('/', '-'))}.{slug(kernel_directory)}"


def spec_problem(spec: Any) -> str | None:
    """Why a parsed kernel.json cannot be used, or None."""
    if not isinstance(spec, dict):
        return "kernel.json is not a JSON object"
    argv = spec.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(word, str) for word in argv):
        return "argv must be a non-empty list of strings"
    if not isinstance(spec.get("display_name"), str) or not spec["display_name"]:
        return "display_name must be a non-empty string"
    if not isinstance(spec.get("env", {}), dict):
        return "env must be an object"
    return None


def module_kernel(module: str, resource_dir: Path, spec: dict[str, Any], launcher: Sequence[str]) -> ModuleKernel:
    wrapped = {
        **spec,
        "argv": [*launcher, "--module", module, "--", *spec["argv"]],
        "display_name": f"{spec['display_name']} ({module})",
        "metadata": {**spec.get("metadata", {}), "hpclab_module": module},
    }
    return ModuleKernel(kernel_name(module, resource_dir.name), module, str(resource_dir), wrapped)


def module_kernels(
    modules: Mapping[str, Sequence[str]],
    launcher: Sequence[str],
    warn: Callable[[str], None],
) -> dict[str, ModuleKernel]:
    """{kernel name: kernel} of every module in the index ({module: kernel directories})."""
    kernels: dict[str, ModuleKernel] = {}
    for module, directories in modules.items():
        for directory in directories:
            try:
                candidates = sorted(Path(directory).iterdir())
            except OSError as error:
                warn(f"module {module}: cannot list {directory}: {error.strerror}")
                continue
            for resource_dir in filter(Path.is_dir, candidates):
                spec_file = resource_dir / "kernel.json"
                try:
                    spec = json.loads(spec_file.read_text())
                except FileNotFoundError:
                    continue
                except (OSError, ValueError) as error:
                    warn(f"module {module}: skipping {spec_file}: {error}")
                    continue
                problem = spec_problem(spec)
                if problem:
                    warn(f"module {module}: skipping {spec_file}: {problem}")
                    continue
                kernel = module_kernel(module, resource_dir, spec, launcher)
                kernels.setdefault(kernel.name, kernel)
    return kernels

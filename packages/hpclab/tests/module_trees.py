"""Generated module trees for the tests of module kernels: Lua module files in a module
directory, each adding <env>/bin to PATH, and environments with kernel specs."""

from __future__ import annotations

import json
from pathlib import Path

LMOD_CMD = "/usr/share/lmod/lmod/libexec/lmod"
SPIDER = "/usr/share/lmod/lmod/libexec/spider"


def kernel_json(display_name: str) -> dict:
    return {"argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": display_name}


def add_module(root: Path, name: str, lua: str) -> Path:
    modulefile = root / "modules" / f"{name}.lua"
    modulefile.parent.mkdir(parents=True, exist_ok=True)
    modulefile.write_text(lua)
    return modulefile


def add_env_module(root: Path, name: str, kernels: dict[str, object], setenv: dict[str, str] | None = None) -> Path:
    """Module `name` whose environment carries the given kernel.json contents by directory."""
    prefix = root / "envs" / name.replace("/", "-")
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    for directory, content in kernels.items():
        kernel_dir = prefix / "share" / "jupyter" / "kernels" / directory
        kernel_dir.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content)
        (kernel_dir / "kernel.json").write_text(text)
    lines = [f'prepend_path("PATH", "{prefix}/bin")']
    lines += [f'setenv("{variable}", "{value}")' for variable, value in (setenv or {}).items()]
    add_module(root, name, "\n".join(lines) + "\n")
    return prefix


def generate_tree(root: Path, count: int) -> Path:
    """count modules app<i>/1.0, each with one kernel; returns the module directory."""
    for number in range(count):
        add_env_module(root, f"app{number}/1.0", {"python3": kernel_json(f"App {number}")})
    return root / "modules"

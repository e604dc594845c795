"""hpclab-module-index: which modules of the tree carry Jupyter kernels, from Lmod's spider.

A module carries kernels when a directory it adds to PATH is <prefix>/bin and
<prefix>/share/jupyter/kernels exists (a conda or virtual environment). Lmod's spider
reads every module file without loading anything. The index is built off the request
path: by a timer for the whole site (this command), or by a server in the background;
servers only read it.

Module files are code that projects and users may write: the site's timer runs this
command as root only to write the index, with spider itself run as an unprivileged
account (--spider-user), and keeps only kernel directories that root alone can change,
so that a module file can neither rewrite the index nor point it at its own kernels.

    hpclab-module-index --output /cluster/software/modulefiles/.hpclab-kernels.json
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

INDEX_FORMAT = 1
DEFAULT_SPIDER = "/usr/share/lmod/lmod/libexec/spider"


class ModuleIndexError(Exception):
    """The module tree could not be indexed (spider missing, failing or garbled)."""


def path_dirs_by_module(spider: Mapping[str, Any], modulepath: Sequence[str]) -> dict[str, list[str]]:
    """{module full name: directories it adds to PATH}, from `spider -o spider-json`.

    Where two module files have the same full name, the one earlier on MODULEPATH wins,
    as for `module load`. Hidden modules are left out, as from `module avail`."""
    rank = {path: position for position, path in enumerate(modulepath)}
    chosen: dict[str, tuple[int, list[str]]] = {}
    for files in spider.values():
        if not isinstance(files, Mapping):
            continue
        for entry in files.values():
            if not isinstance(entry, Mapping) or entry.get("hidden") or not isinstance(entry.get("fullName"), str):
                continue
            position = rank.get(str(entry.get("mpath", "")), len(rank))
            name = entry["fullName"]
            if name not in chosen or position < chosen[name][0]:
                path_dirs = entry.get("pathA") if isinstance(entry.get("pathA"), Mapping) else {}
                chosen[name] = (position, sorted(str(path) for path in path_dirs))
    return {name: dirs for name, (_, dirs) in sorted(chosen.items())}


def root_controlled(directory: Path) -> bool:
    """Whether only root can change the directory, its contents' names and its parents."""
    try:
        return all(
            (status := part.stat()).st_uid == 0 and not status.st_mode & 0o022
            for part in (directory, *directory.parents)
        )
    except OSError:
        return False


def kernel_dirs(path_dirs: Sequence[str], trusted: Callable[[Path], bool] = lambda _: True) -> list[str]:
    """Existing <prefix>/share/jupyter/kernels of the <prefix>/bin directories given."""
    found = []
    for path_dir in path_dirs:
        directory = Path(path_dir)
        if directory.name == "bin":
            candidate = directory.parent / "share" / "jupyter" / "kernels"
            if candidate.is_dir() and trusted(candidate):
                found.append(str(candidate))
    return found


def build_index(
    spider_output: Mapping[str, Any],
    modulepath: Sequence[str],
    now: float,
    trusted: Callable[[Path], bool] = lambda _: True,
) -> dict[str, Any]:
    modules = {}
    for name, path_dirs in path_dirs_by_module(spider_output, modulepath).items():
        directories = kernel_dirs(path_dirs, trusted)
        if directories:
            modules[name] = directories
    return {"format": INDEX_FORMAT, "generated": now, "modulepath": list(modulepath), "modules": modules}


def run_spider(spider: str, modulepath: Sequence[str], timeout: float, user: str | None = None) -> dict[str, Any]:
    directories = [path for path in modulepath if os.path.isdir(path)]
    if not directories:
        return {}
    # As another user: none of our groups, and its own HOME for Lmod's caches.
    as_user = {"user": user, "group": user, "extra_groups": [], "cwd": "/"} if user else {}
    environment = {**os.environ, "HOME": pwd.getpwnam(user).pw_dir} if user else None
    try:
        result = subprocess.run(
            [spider, "-o", "spider-json", *directories],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=environment,
            **as_user,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ModuleIndexError(f"Lmod's spider could not run: {error}") from error
    if result.returncode != 0:
        raise ModuleIndexError(f"Lmod's spider failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    try:
        parsed = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as error:
        raise ModuleIndexError(f"Lmod's spider printed no JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise ModuleIndexError("Lmod's spider printed JSON that is not an object")
    return parsed


def index_module_tree(
    modulepath: Sequence[str], spider: str = DEFAULT_SPIDER, timeout: float = 300, spider_user: str | None = None
) -> dict[str, Any]:
    """The index; built for the site (spider_user given), only root-controlled kernels."""
    trusted = root_controlled if spider_user else (lambda _: True)
    return build_index(run_spider(spider, modulepath, timeout, spider_user), modulepath, time.time(), trusted)


def write_index(index: Mapping[str, Any], output: Path) -> None:
    """Replace the index file at once: servers never read half of it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(descriptor, "w") as stream:
            json.dump(index, stream, indent=1, sort_keys=True)
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise


def default_spider(environment: Mapping[str, str]) -> str:
    lmod_dir = environment.get("LMOD_DIR")
    return os.path.join(lmod_dir, "spider") if lmod_dir else DEFAULT_SPIDER


def modulepath_of(environment: Mapping[str, str]) -> list[str]:
    return [path for path in environment.get("MODULEPATH", "").split(":") if path]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hpclab-module-index", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="index file to write")
    parser.add_argument("--modulepath", help="colon-separated module directories (default: $MODULEPATH)")
    parser.add_argument("--spider", default=default_spider(os.environ), help="Lmod's spider command")
    parser.add_argument("--timeout", type=float, default=300, help="seconds spider may take")
    parser.add_argument(
        "--spider-user", help="run spider as this account and index only kernels that root alone can change"
    )
    args = parser.parse_args(argv)
    modulepath = modulepath_of({"MODULEPATH": args.modulepath}) if args.modulepath else modulepath_of(os.environ)
    try:
        index = index_module_tree(modulepath, args.spider, args.timeout, args.spider_user)
    except ModuleIndexError as error:
        print(f"hpclab-module-index: {error}", file=sys.stderr)
        return 1
    write_index(index, args.output)
    print(f"hpclab-module-index: {len(index['modules'])} modules with kernels in {len(modulepath)} directories")
    return 0


if __name__ == "__main__":
    sys.exit(main())

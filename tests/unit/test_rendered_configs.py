"""The checked-in inventories: valid for the playbooks, and what they render is reviewed.

For each inventory under inventories/, site.yml must pass `ansible-playbook --syntax-check`,
and tests/rendered/render.yml renders on this machine, without a cluster or network, what
the roles write from the inventory's data (slurm.conf, gres.conf, jupyterhub_config.json,
...), after the roles' argument specifications and data checks. The files must equal the
committed fixtures, tests/rendered/<inventory>/<host>/<path on the node>. After an intended
change, refresh them and review their diff with the change:

    HPCLAB_UPDATE_FIXTURES=1 pytest tests/unit/test_rendered_configs.py

render.yml repeats what each role's task renders; the last test checks that every task
there named like a role's task still matches it, and that every file the roles template
is rendered or listed in NOT_RENDERED.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RENDER_PLAYBOOK = ROOT / "tests" / "rendered" / "render.yml"
FIXTURES = ROOT / "tests" / "rendered"
INVENTORIES = ["example", "demo"]
UPDATE = os.environ.get("HPCLAB_UPDATE_FIXTURES", "") not in ("", "0")

# Role tasks that write a file from data but are not rendered, with the reason.
NOT_RENDERED = {
    ("jupyterhub", "Allow the service account the spawn and cancel commands only"): "needs the node's accounts",
    ("jupyterhub", "Install the proxy's service unit"): "needs the node's Node.js path",
    ("jupyterhub", "Trust the hub's self-signed certificate"): "the hub's generated certificate",
}


def _ansible(tool: str) -> str:
    beside = Path(sys.executable).with_name(tool)
    found = str(beside) if beside.exists() else shutil.which(tool)
    if not found:
        pytest.skip(f"{tool} is not installed")
    return found


def _env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}


def _render(inventory: str, out: Path) -> dict[str, dict[str, str]]:
    out.mkdir(parents=True)
    command = [
        _ansible("ansible-playbook"),
        "-i",
        f"inventories/{inventory}",
        str(RENDER_PLAYBOOK),
        "-e",
        f"render_dir={out}",
    ]
    result = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        failed = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("skipping:"))
        pytest.fail(
            f"rendering inventories/{inventory} failed:\n{failed[-6000:]}{result.stderr[-3000:]}", pytrace=False
        )
    return json.loads((out / "rendered.json").read_text())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, str]]]:
    """Host -> path on the node -> content, for each inventory (rendered side by side)."""
    base = tmp_path_factory.mktemp("rendered")
    with ThreadPoolExecutor(len(INVENTORIES)) as pool:
        futures = {name: pool.submit(_render, name, base / name) for name in INVENTORIES}
        return {name: future.result() for name, future in futures.items()}


def _fixture_files(inventory: str) -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = {}
    root = FIXTURES / inventory
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        host, *parts = path.relative_to(root).parts
        files.setdefault(host, {})["/" + "/".join(parts)] = path.read_text()
    return files


def _write_fixtures(inventory: str, files: dict[str, dict[str, str]]) -> None:
    root = FIXTURES / inventory
    shutil.rmtree(root, ignore_errors=True)
    for host, host_files in files.items():
        for node_path, content in host_files.items():
            target = root / host / node_path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)


def _differences(inventory: str, expected: dict, actual: dict) -> list[str]:
    """Unified diffs, fixture to rendered; a change that several hosts share is shown once."""
    by_change: dict[tuple[str, str], list[str]] = {}
    for host in sorted(set(expected) | set(actual)):
        want, got = expected.get(host, {}), actual.get(host, {})
        for node_path in sorted(set(want) | set(got)):
            if want.get(node_path) == got.get(node_path):
                continue
            diff = "".join(
                difflib.unified_diff(
                    want.get(node_path, "").splitlines(keepends=True),
                    got.get(node_path, "").splitlines(keepends=True),
                    "fixture" if node_path in want else "fixture (none)",
                    "rendered" if node_path in got else "rendered (none)",
                )
            )
            by_change.setdefault((node_path, diff), []).append(host)
    return [
        f"{node_path} on {', '.join(hosts)} (tests/rendered/{inventory}/{hosts[0]}{node_path}):\n{diff}"
        for (node_path, diff), hosts in by_change.items()
    ]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_site_playbook_syntax(inventory):
    command = [_ansible("ansible-playbook"), "--syntax-check", "-i", f"inventories/{inventory}", "playbooks/site.yml"]
    result = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_rendered_files_match_fixtures(rendered, inventory):
    actual = rendered[inventory]
    if UPDATE:
        _write_fixtures(inventory, actual)
        return
    differences = _differences(inventory, _fixture_files(inventory), actual)
    if differences:
        pytest.fail(
            f"inventories/{inventory} renders differently from its fixtures. If the change is intended, refresh "
            "them with HPCLAB_UPDATE_FIXTURES=1 pytest tests/unit/test_rendered_configs.py and review their diff.\n\n"
            + "\n".join(differences),
            pytrace=False,
        )


def test_rendered_slurm_files_are_the_same_on_every_node(rendered):
    # Slurm wants one slurm.conf (and gres.conf) on the whole cluster.
    for inventory, hosts in rendered.items():
        for name in ("slurm.conf", "gres.conf"):
            versions = {files[path] for files in hosts.values() for path in files if path.endswith(f"/{name}")}
            assert len(versions) <= 1, f"inventories/{inventory}: {name} differs between hosts"


def test_example_declares_its_gpus_to_slurm(rendered):
    visu = rendered["example"]["visu01.example.org"]
    assert "\nGresTypes=gpu\n" in visu["/etc/slurm/slurm.conf"]
    assert "\nNodeName=visu01 Name=gpu File=/dev/nvidia[0-1]\n" in visu["/etc/slurm/gres.conf"]
    demo = rendered["demo"]["cn1"]
    assert "\nGresTypes=gpu\n" in demo["/etc/slurm/slurm.conf"]
    gres = "\nNodeName=cn1 Name=gpu Type=a100 File=/var/lib/hpclab-demo/gpus/nvidia[0-1]\n"
    assert gres in demo["/etc/slurm/gres.conf"]


def test_accounting_is_the_demos_and_off_unless_a_site_turns_it_on(rendered):
    demo = rendered["demo"]["slurmctld"]
    assert "\nAccountingStorageType=accounting_storage/slurmdbd\n" in demo["/etc/slurm/slurm.conf"]
    assert "\nAccountingStorageEnforce=associations,limits,qos,safe\n" in demo["/etc/slurm/slurm.conf"]
    assert "\nStorageLoc=slurm_acct_db\n" in demo["/etc/slurm/slurmdbd.conf"]
    assert "/etc/slurm/slurmdbd.conf" not in rendered["demo"]["cn1"]
    example = rendered["example"]["visu01.example.org"]["/etc/slurm/slurm.conf"]
    assert "\nAccountingStorageType=accounting_storage/none\n" in example


# What render.yml repeats of the roles.


def _tasks(items: list | None):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _role_tasks(role: str) -> dict[str, dict]:
    tasks = {}
    for path in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text())):
            if "name" in task:
                tasks[task["name"]] = task
    return tasks


def _module(task: dict) -> tuple[str, dict]:
    for key, value in task.items():
        if key.startswith("ansible.builtin."):
            return key, value if isinstance(value, dict) else {}
    return "", {}


def _conditions(task: dict) -> list:
    when = task.get("when", [])
    return when if isinstance(when, list) else [when]


def _render_plays() -> list[tuple[list[str], list[dict]]]:
    plays = yaml.safe_load(RENDER_PLAYBOOK.read_text())
    return [([r["role"] for r in play.get("roles", [])], list(_tasks(play.get("tasks")))) for play in plays]


def _mismatches(render: dict, role: str, task: dict) -> list[str]:
    module, args = _module(task)
    render_vars = dict(render.get("vars", {}))
    problems = []
    if "render_path" in render_vars:
        if module not in ("ansible.builtin.template", "ansible.builtin.copy"):
            return [f"the role's task is {module}, not a template or copy"]
        if render_vars.pop("render_path") != args.get("dest"):
            problems.append(f"dest is {args.get('dest')!r}")
        template = render_vars.pop("render_template", None)
        content = render_vars.pop("render_content", None)
        if module == "ansible.builtin.template" and template != f"{role}/templates/{args.get('src')}":
            problems.append(f"template is {args.get('src')!r}")
        if module == "ansible.builtin.copy" and content != args.get("content"):
            problems.append(f"content is {args.get('content')!r}")
    elif _module(render) != (module, args):
        problems.append(f"{module} has other arguments: {args!r}")
    if render_vars != task.get("vars", {}):
        problems.append(f"vars are {task.get('vars', {})!r}")
    for key in ("loop", "loop_control"):
        if render.get(key) != task.get(key):
            problems.append(f"{key} is {task.get(key)!r}")
    missing = [c for c in _conditions(task) if c not in _conditions(render)]
    if missing:
        problems.append(f"it also runs only when {missing!r}")
    return problems


def test_render_playbook_follows_the_roles():
    problems = []
    for roles, render_tasks in _render_plays():
        role_tasks = {(role, name): task for role in roles for name, task in _role_tasks(role).items()}
        mirrored = set()
        for render in render_tasks:
            if _module(render)[0] not in ("ansible.builtin.set_fact", "ansible.builtin.assert"):
                continue
            matches = [(key, task) for key, task in role_tasks.items() if key[1] == render["name"]]
            if len(matches) != 1:
                problems.append(f"{render['name']!r}: no single task of that name in roles {', '.join(roles)}")
                continue
            key, task = matches[0]
            mirrored.add(key)
            problems.extend(f"{key[1]!r} differs from {key[0]}'s task: {p}" for p in _mismatches(render, key[0], task))
        for key, task in role_tasks.items():
            module, args = _module(task)
            writes = module == "ansible.builtin.template" or (module == "ansible.builtin.copy" and "content" in args)
            if writes and key not in mirrored and key not in NOT_RENDERED:
                problems.append(
                    f"{key[0]}'s task {key[1]!r} writes a file: render it in render.yml or list it in NOT_RENDERED"
                )
    assert not problems, "\n".join(problems)

"""Kernels from environment modules in alice's SLURM server, through the hub's proxy:
listed from the site's index, each running in its own module's environment, a module
added or removed by admins showing within the (test-shortened) TTL, broken modules and
kernel specs reported without hiding the others, and a user kernel as in the user guide."""

from __future__ import annotations

import json
import shlex
import threading
import time

import pytest

from conftest import as_user
from hubclient import LabKernel

SERVER = "kernels"
SERVER_PATH = f"/user/alice/{SERVER}"
SOFTWARE = "/cluster/software"
BASE_PYTHON = f"{SOFTWARE}/envs/python-3.11-base/bin/python"
TTL = 5


USER_CONFIG = "$HOME/.jupyter/jupyter_server_config.json"


@pytest.fixture(scope="module")
def lab(alice, node):
    # A user's own Jupyter configuration may shorten the TTL for their servers.
    config = json.dumps({"HpclabKernelSpecManager": {"module_kernels_ttl": TTL}})
    node("hub").check_output(
        as_user("alice", f"mkdir -p ~/.jupyter && printf %s {shlex.quote(config)} > {USER_CONFIG}")
    )
    options = {"kind": "slurm", "partition": "cpu", "time": "00:30:00", "cpus": "2", "memory": "2G"}
    try:
        response = alice.start(SERVER, options)
        assert response.status_code in (201, 202), response.text
        alice.wait_ready(SERVER)
    finally:
        node("hub").check_output(as_user("alice", f"rm -f {USER_CONFIG}"))
    assert alice.http.get(alice.url(f"{SERVER_PATH}/lab"), timeout=60).status_code == 200
    yield alice
    alice.stop(SERVER)


def kernelspecs(lab) -> dict:
    return lab.server_request("GET", SERVER_PATH, "/api/kernelspecs").json()["kernelspecs"]


def wait_for_kernelspecs(lab, condition, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        specs = kernelspecs(lab)
        if condition(specs) or time.monotonic() > deadline:
            return specs
        time.sleep(1)


def reindex(node) -> None:
    """What the site's timer does every few minutes."""
    node("hub").check_output("systemctl start hpclab-module-index.service")


def add_module(node, name: str, kernels: dict[str, str], lua_extra: str = "") -> None:
    """An environment module with kernel.json files (by directory), written as an admin would."""
    prefix = f"{SOFTWARE}/envs/test-{name.replace('/', '-')}"
    commands = [f"mkdir -p {prefix}/bin"]
    for directory, content in kernels.items():
        kernel_dir = f"{prefix}/share/jupyter/kernels/{directory}"
        commands.append(f"mkdir -p {kernel_dir} && printf %s {shlex.quote(content)} > {kernel_dir}/kernel.json")
    modulefile = f'prepend_path("PATH", "{prefix}/bin")\n{lua_extra}'
    commands.append(f"mkdir -p {SOFTWARE}/modulefiles/{name.split('/')[0]}")
    commands.append(f"printf %s {shlex.quote(modulefile)} > {SOFTWARE}/modulefiles/{name}.lua")
    node("hub").check_output(" && ".join(commands))


def remove_module(node, name: str) -> None:
    node("hub").check_output(f"rm -rf {SOFTWARE}/modulefiles/{name}.lua {SOFTWARE}/envs/test-{name.replace('/', '-')}")


def python_kernel(display_name: str) -> str:
    argv = [BASE_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return json.dumps({"argv": argv, "display_name": display_name, "language": "python"})


def test_demo_modules_kernels_are_listed_with_their_module(lab):
    specs = kernelspecs(lab)
    assert specs["lmod.python-3.11-base.python3"]["spec"]["display_name"] == "Python 3.11 (base) (python/3.11-base)"
    assert (
        specs["lmod.python-3.11-science.python3"]["spec"]["display_name"]
        == "Python 3.11 (science) (python/3.11-science)"
    )
    assert "python3" in specs  # the environment's own kernel is still there


def test_kernels_of_different_modules_run_side_by_side_in_their_own_environment(lab):
    probe = "import os, sys; print(sys.executable, os.environ.get('VIRTUAL_ENV'), os.environ.get('LOADEDMODULES'))"
    base = LabKernel(lab, SERVER_PATH, "lmod.python-3.11-base.python3")
    science = LabKernel(lab, SERVER_PATH, "lmod.python-3.11-science.python3")
    try:
        base_out, base_errors = base.execute(probe)
        science_out, science_errors = science.execute(probe + "; import h5py")
    finally:
        base.close()
        science.close()
    assert (base_errors, science_errors) == ("", "")
    assert base_out.split() == [BASE_PYTHON, f"{SOFTWARE}/envs/python-3.11-base", "python/3.11-base"]
    assert science_out.split() == [
        f"{SOFTWARE}/envs/python-3.11-science/bin/python",
        f"{SOFTWARE}/envs/python-3.11-science",
        "python/3.11-science",
    ]


def test_a_module_kernel_is_one_process_that_interrupt_and_restart_reach(lab):
    # The kernel replaced the launcher: its parent is the Jupyter server itself.
    parent = "import os; print(os.getpid(), open(f'/proc/{os.getppid()}/cmdline').read().replace(chr(0), ' '))"
    kernel = LabKernel(lab, SERVER_PATH, "lmod.python-3.11-base.python3")
    try:
        before, _ = kernel.execute(parent)
        threading.Timer(
            3, lambda: lab.server_request("POST", SERVER_PATH, f"/api/kernels/{kernel.kernel_id}/interrupt")
        ).start()
        _, errors = kernel.execute("import time; time.sleep(60)", timeout=30)
        assert "KeyboardInterrupt" in errors
        restarted = lab.server_request("POST", SERVER_PATH, f"/api/kernels/{kernel.kernel_id}/restart")
        assert restarted.status_code == 200, restarted.text
        time.sleep(2)
        after, errors = kernel.execute(parent)
    finally:
        kernel.close()
    assert errors == ""
    assert "jupyterhub-singleuser" in before
    assert "jupyterhub-singleuser" in after
    assert before.split()[0] != after.split()[0]


def test_a_module_added_by_admins_appears_within_the_ttl_and_goes_when_removed(lab, node):
    try:
        add_module(node, "added/1.0", {"added": python_kernel("Added kernel")}, 'setenv("ADDED_MODULE", "yes")\n')
        reindex(node)
        specs = wait_for_kernelspecs(lab, lambda specs: "lmod.added-1.0.added" in specs, timeout=3 * TTL + 30)
        assert specs["lmod.added-1.0.added"]["spec"]["display_name"] == "Added kernel (added/1.0)"
        kernel = LabKernel(lab, SERVER_PATH, "lmod.added-1.0.added")
        try:
            stdout, errors = kernel.execute("import os; print(os.environ['ADDED_MODULE'])")
        finally:
            kernel.close()
        assert (stdout.strip(), errors) == ("yes", "")
    finally:
        remove_module(node, "added/1.0")
        reindex(node)
    specs = wait_for_kernelspecs(lab, lambda specs: "lmod.added-1.0.added" not in specs, timeout=3 * TTL + 30)
    assert "lmod.added-1.0.added" not in specs


def test_broken_modules_and_kernel_specs_are_reported_and_hide_nothing(lab, node):
    try:
        add_module(
            node,
            "broken/1.0",
            {"broken": python_kernel("Broken module")},
            'if (mode() == "load") then LmodError("this module is broken on purpose") end\n',
        )
        add_module(node, "malformed/1.0", {"bad": '{"argv": "python", ', "good": python_kernel("Good kernel")})
        reindex(node)
        specs = wait_for_kernelspecs(lab, lambda specs: "lmod.malformed-1.0.good" in specs, timeout=3 * TTL + 30)
        assert "lmod.malformed-1.0.bad" not in specs
        assert "lmod.python-3.11-base.python3" in specs
        kernel = LabKernel(lab, SERVER_PATH, "lmod.broken-1.0.broken")
        try:
            _, errors = kernel.execute("print('never runs')")
        finally:
            kernel.close()
        assert "could not be loaded" in errors
        assert "this module is broken on purpose" in errors
    finally:
        remove_module(node, "broken/1.0")
        remove_module(node, "malformed/1.0")
        reindex(node)


def test_a_user_kernel_from_the_user_guide_appears_after_a_refresh(lab, node):
    kernel_dir = "$HOME/.local/share/jupyter/kernels/mycustomkernel"
    script = f'#!/bin/bash\nmodule purge\nexport MY_KERNEL=custom\nexec {BASE_PYTHON} -m ipykernel "$@"\n'
    spec = {
        "argv": ["/home/alice/.local/share/jupyter/kernels/mycustomkernel/kernel.sh", "-f", "{connection_file}"],
        "display_name": "My Custom Kernel",
        "language": "python",
        "metadata": {"debugger": True},
    }
    node("hub").check_output(
        as_user(
            "alice",
            f"mkdir -p {kernel_dir} && printf %s {shlex.quote(script)} > {kernel_dir}/kernel.sh"
            f" && chmod +x {kernel_dir}/kernel.sh"
            f" && printf %s {shlex.quote(json.dumps(spec))} > {kernel_dir}/kernel.json",
        )
    )
    try:
        assert kernelspecs(lab)["mycustomkernel"]["spec"]["display_name"] == "My Custom Kernel"
        kernel = LabKernel(lab, SERVER_PATH, "mycustomkernel")
        try:
            stdout, errors = kernel.execute("import os; print(os.environ['MY_KERNEL'])")
        finally:
            kernel.close()
        assert (stdout.strip(), errors) == ("custom", "")
    finally:
        node("hub").check_output(as_user("alice", f"rm -rf {kernel_dir}"))

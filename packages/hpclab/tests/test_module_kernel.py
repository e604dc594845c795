import os
import subprocess
import sys

import pytest

from hpclab.lab.kernels.module_kernel import ModuleLoadError, apply_lmod_code, connection_file, load_module
from module_trees import LMOD_CMD, add_module


@pytest.fixture
def lmod_environment(tmp_path):
    add_module(tmp_path, "project/1.0", 'setenv("PROJECT", "demoproj")\nprepend_path("PATH", "/opt/project/bin")\n')
    add_module(tmp_path, "other/1.0", 'setenv("OTHER", "loaded-in-the-server")\n')
    add_module(tmp_path, "broken/1.0", 'LmodError("broken on purpose")\n')
    return {
        "LMOD_CMD": LMOD_CMD,
        "MODULEPATH": str(tmp_path / "modules"),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }


def test_lmod_code_sets_and_deletes_variables_of_the_given_environment():
    environment = {"OLD": "x"}
    apply_lmod_code('import os\nos.environ["NEW"] = "1";\ndel os.environ["OLD"]\n_mlstatus = True\n', environment)
    assert environment == {"NEW": "1"}


def test_loading_purges_the_servers_modules_first(lmod_environment):
    environment = dict(lmod_environment)
    load_module("other/1.0", environment)
    assert environment["OTHER"] == "loaded-in-the-server"
    load_module("project/1.0", environment)
    assert environment["PROJECT"] == "demoproj"
    assert environment["PATH"].startswith("/opt/project/bin:")
    assert "OTHER" not in environment


def test_a_module_that_fails_to_load_says_why(lmod_environment):
    with pytest.raises(ModuleLoadError, match="broken on purpose"):
        load_module("broken/1.0", dict(lmod_environment))
    with pytest.raises(ModuleLoadError, match="unknown"):
        load_module("missing/1.0", dict(lmod_environment))
    with pytest.raises(ModuleLoadError, match="LMOD_CMD is not set"):
        load_module("project/1.0", {})


def run_launcher(environment, *arguments):
    return subprocess.run(
        [sys.executable, "-m", "hpclab.lab.kernels.module_kernel", *arguments],
        env={**environment, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_launcher_becomes_the_kernel_command_in_the_modules_environment(lmod_environment):
    result = run_launcher(lmod_environment, "--module", "project/1.0", "--", "sh", "-c", 'echo "$PROJECT $$"')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "demoproj"


def test_without_a_connection_file_a_failed_load_exits_with_the_reason(lmod_environment):
    result = run_launcher(lmod_environment, "--module", "broken/1.0", "--", "python")
    assert result.returncode == 1
    assert "could not be loaded" in result.stderr
    assert "broken on purpose" in result.stderr


def test_the_connection_file_is_found_in_the_kernel_command():
    assert connection_file(["python", "-m", "ipykernel_launcher", "-f", "/run/k.json"]) == "/run/k.json"
    assert connection_file(["julia", "kernel.jl", "/run/k.json"]) is None

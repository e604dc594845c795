import re

from hpclab.lab.kernels.module_specs import kernel_name, module_kernels
from module_trees import add_env_module, kernel_json

LAUNCHER = ["/opt/jupyter/bin/hpclab-module-kernel"]


def test_kernel_names_are_stable_and_valid():
    assert kernel_name("python/3.11-base", "python3") == "lmod.python-3.11-base.python3"
    name = kernel_name("PyTorch/2.3 (GPU)+cuda", "My Kernel!")
    assert re.fullmatch(r"[a-z0-9._-]+", name)
    assert name == kernel_name("PyTorch/2.3 (GPU)+cuda", "My Kernel!")


def test_module_kernels_load_their_module_and_say_which_it_is(tmp_path):
    prefix = add_env_module(tmp_path, "python/3.11", {"python3": kernel_json("Python 3.11")})
    kernels = module_kernels({"python/3.11": [str(prefix / "share/jupyter/kernels")]}, LAUNCHER, print)
    kernel = kernels["lmod.python-3.11.python3"]
    assert kernel.spec["display_name"] == "Python 3.11 (python/3.11)"
    assert kernel.spec["argv"] == [
        *LAUNCHER,
        "--module",
        "python/3.11",
        "--",
        "python",
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    assert kernel.resource_dir == str(prefix / "share/jupyter/kernels/python3")


def test_malformed_and_unreadable_kernels_are_skipped_with_a_warning(tmp_path):
    prefix = add_env_module(
        tmp_path,
        "mixed/1.0",
        {
            "good": kernel_json("Good"),
            "not-json": "{argv: [",
            "no-argv": {"display_name": "No argv"},
            "bad-argv": {"argv": "python -m ipykernel", "display_name": "String argv"},
            "no-name": {"argv": ["python"]},
            "list": ["python"],
        },
    )
    warnings = []
    modules = {
        "mixed/1.0": [str(prefix / "share/jupyter/kernels")],
        "gone/1.0": [str(tmp_path / "removed/share/jupyter/kernels")],
    }
    kernels = module_kernels(modules, LAUNCHER, warnings.append)
    assert list(kernels) == ["lmod.mixed-1.0.good"]
    assert len(warnings) == 6
    assert any("gone/1.0: cannot list" in warning for warning in warnings)
    assert any("argv must be a non-empty list of strings" in warning for warning in warnings)

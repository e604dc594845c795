import json
import time

import pytest
from jupyter_client.kernelspec import NoSuchKernel

from hpclab.lab.kernels.module_index import INDEX_FORMAT
from hpclab.lab.kernels.spec_manager import HpclabKernelSpecManager
from module_trees import add_env_module, kernel_json


def write_index(path, modules):
    path.write_text(json.dumps({"format": INDEX_FORMAT, "generated": 0, "modulepath": [], "modules": modules}))


def kernels_of(root, name):
    return [str(add_env_module(root, name, {"python3": kernel_json(name)}) / "share/jupyter/kernels")]


@pytest.fixture
def user_kernels(tmp_path):
    directory = tmp_path / "user-kernels"
    (directory / "mycustomkernel").mkdir(parents=True)
    (directory / "mycustomkernel" / "kernel.json").write_text(json.dumps(kernel_json("My Custom Kernel")))
    return directory


def manager(tmp_path, user_kernels, ttl):
    return HpclabKernelSpecManager(
        kernel_dirs=[str(user_kernels)],
        ensure_native_kernel=False,
        module_index_file=str(tmp_path / "index.json"),
        module_kernels_ttl=ttl,
        module_kernel_launcher=["hpclab-module-kernel"],
    )


def test_own_user_and_module_kernels_are_listed_together(tmp_path, user_kernels):
    write_index(tmp_path / "index.json", {"python/3.11": kernels_of(tmp_path, "python/3.11")})
    specs = manager(tmp_path, user_kernels, 900).get_all_specs()
    assert sorted(specs) == ["lmod.python-3.11.python3", "mycustomkernel"]
    assert specs["lmod.python-3.11.python3"]["spec"]["display_name"] == "python/3.11 (python/3.11)"
    assert specs["lmod.python-3.11.python3"]["spec"]["argv"][:3] == ["hpclab-module-kernel", "--module", "python/3.11"]
    assert specs["mycustomkernel"]["spec"]["display_name"] == "My Custom Kernel"


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_modules_added_or_removed_show_within_the_ttl(tmp_path, user_kernels):
    write_index(tmp_path / "index.json", {"python/3.11": kernels_of(tmp_path, "python/3.11")})
    specs = manager(tmp_path, user_kernels, 0.2)
    write_index(tmp_path / "index.json", {"added/1.0": kernels_of(tmp_path, "added/1.0")})
    assert "lmod.python-3.11.python3" in specs.find_kernel_specs()  # until the TTL passes
    assert wait_for(lambda: "lmod.added-1.0.python3" in specs.find_kernel_specs())
    assert "lmod.python-3.11.python3" not in specs.find_kernel_specs()
    with pytest.raises(NoSuchKernel):
        specs.get_kernel_spec("lmod.python-3.11.python3")
    assert specs.get_kernel_spec("lmod.added-1.0.python3").argv[-5:] == kernel_json("x")["argv"]


def test_a_damaged_index_keeps_the_last_good_kernels(tmp_path, user_kernels):
    write_index(tmp_path / "index.json", {"python/3.11": kernels_of(tmp_path, "python/3.11")})
    specs = manager(tmp_path, user_kernels, 0.1)
    (tmp_path / "index.json").write_text("{truncated")
    time.sleep(0.3)
    for _ in range(5):
        assert "lmod.python-3.11.python3" in specs.find_kernel_specs()
        time.sleep(0.05)

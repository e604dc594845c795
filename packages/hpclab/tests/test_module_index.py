import json
import stat
from pathlib import Path

import pytest

from hpclab.lab.kernels.module_index import (
    ModuleIndexError,
    index_module_tree,
    main,
    path_dirs_by_module,
    root_controlled,
    run_spider,
)
from module_trees import SPIDER, add_env_module, add_module, generate_tree, kernel_json


def test_modules_with_kernels_are_indexed_with_their_kernel_directories(tmp_path):
    prefix = add_env_module(tmp_path, "python/3.11", {"python3": kernel_json("Python 3.11")})
    add_module(tmp_path, "tools/1.0", 'prepend_path("PATH", "/usr/local/tools/bin")\n')
    add_module(tmp_path, "project/1.0", 'setenv("PROJECT", "x")\n')
    index = index_module_tree([str(tmp_path / "modules")], SPIDER)
    assert index["modules"] == {"python/3.11": [str(prefix / "share/jupyter/kernels")]}
    assert index["modulepath"] == [str(tmp_path / "modules")]


def test_a_broken_module_file_leaves_the_others_indexed(tmp_path):
    add_env_module(tmp_path, "good/1.0", {"python3": kernel_json("Good")})
    add_module(tmp_path, "syntax/1.0", 'prepend_path("PATH", \n')
    add_module(tmp_path, "failing/1.0", 'LmodError("broken on purpose")\n')
    assert list(index_module_tree([str(tmp_path / "modules")], SPIDER)["modules"]) == ["good/1.0"]


def test_a_thousand_modules(tmp_path):
    index = index_module_tree([str(generate_tree(tmp_path, 1000))], SPIDER)
    assert len(index["modules"]) == 1000


def test_the_first_module_directory_wins_and_hidden_modules_are_left_out():
    spider = {
        "python": {
            "/b/python/3.11.lua": {"fullName": "python/3.11", "mpath": "/b", "pathA": {"/env-b/bin": 1}},
            "/a/python/3.11.lua": {"fullName": "python/3.11", "mpath": "/a", "pathA": {"/env-a/bin": 1}},
            "/a/python/.old.lua": {"fullName": "python/.old", "mpath": "/a", "pathA": {"/old/bin": 1}, "hidden": True},
        },
        "garbled": ["not", "a", "mapping"],
        "partial": {"/a/partial.lua": {"mpath": "/a"}},
    }
    assert path_dirs_by_module(spider, ["/a", "/b"]) == {"python/3.11": ["/env-a/bin"]}
    assert path_dirs_by_module(spider, ["/b", "/a"]) == {"python/3.11": ["/env-b/bin"]}


def test_spider_problems_are_errors_with_their_reason(tmp_path):
    (tmp_path / "modules").mkdir()
    with pytest.raises(ModuleIndexError, match="could not run"):
        run_spider(str(tmp_path / "no-spider"), [str(tmp_path / "modules")], 10)
    garbling = tmp_path / "garbling-spider"
    garbling.write_text("#!/bin/sh\necho 'Lmod is busy'\n")
    garbling.chmod(garbling.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ModuleIndexError, match="no JSON"):
        run_spider(str(garbling), [str(tmp_path / "modules")], 10)
    assert run_spider(str(garbling), [str(tmp_path / "absent")], 10) == {}


def test_the_command_writes_the_index_readable_by_everyone(tmp_path, capsys):
    add_env_module(tmp_path, "python/3.11", {"python3": kernel_json("Python 3.11")})
    output = tmp_path / "index" / "kernels.json"
    assert main(["--output", str(output), "--modulepath", str(tmp_path / "modules"), "--spider", SPIDER]) == 0
    assert list(json.loads(output.read_text())["modules"]) == ["python/3.11"]
    assert stat.S_IMODE(output.stat().st_mode) == 0o644
    assert "1 modules with kernels" in capsys.readouterr().out
    assert main(["--output", str(output), "--modulepath", str(tmp_path / "modules"), "--spider", "/none"]) == 1
    assert list(json.loads(output.read_text())["modules"]) == ["python/3.11"]


def test_only_kernels_that_root_alone_can_change_are_trusted_for_the_site(tmp_path):
    # /tmp is writable by everyone: anything below it could be anyone's.
    assert not root_controlled(tmp_path)
    assert root_controlled(Path("/usr/share"))

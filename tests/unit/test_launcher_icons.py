"""Launcher icons: each entry's SVG file inlined, and a site's own icon for one entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import combine
from launcher_icons import hpclab_inline_icons

ICONS = Path(__file__).resolve().parents[2] / "files" / "icons"
DEFAULT_APPS = {
    "tensorboard": {
        "title": "TensorBoard",
        "command": ["tensorboard", "--port={port}"],
        "icon": str(ICONS / "tensorflow.svg"),
    },
    "nerfstudio": {"title": "Nerfstudio viewer", "command": ["viewer", "--socket={socket}"]},
}


def test_each_entry_gets_its_files_svg_and_one_without_keeps_none():
    apps = hpclab_inline_icons(DEFAULT_APPS)
    assert apps["tensorboard"]["icon"] == (ICONS / "tensorflow.svg").read_text().strip()
    assert apps["tensorboard"]["command"] == DEFAULT_APPS["tensorboard"]["command"]
    assert "icon" not in apps["nerfstudio"]


def test_a_sites_icon_for_one_entry_changes_that_icon_only(tmp_path: Path):
    site_logo = tmp_path / "site-tensorboard.svg"
    site_logo.write_text('<svg xmlns="http://www.w3.org/2000/svg"><title>Our TensorBoard</title></svg>\n')
    # What role jupyter_env does with a site's jupyter_env_extra_apps.
    apps = hpclab_inline_icons(combine(DEFAULT_APPS, {"tensorboard": {"icon": str(site_logo)}}, recursive=True))
    assert apps["tensorboard"]["icon"] == site_logo.read_text().strip()
    assert apps["tensorboard"]["command"] == DEFAULT_APPS["tensorboard"]["command"]
    assert apps["nerfstudio"] == DEFAULT_APPS["nerfstudio"]


def test_a_missing_or_non_svg_icon_fails_the_play_with_its_name(tmp_path: Path):
    with pytest.raises(AnsibleFilterError, match="launcher icon of Slurm"):
        hpclab_inline_icons([{"name": "Slurm", "icon": str(tmp_path / "absent.svg")}])
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    with pytest.raises(AnsibleFilterError, match="is not an SVG file"):
        hpclab_inline_icons([{"name": "Slurm", "icon": str(tmp_path / "logo.png")}])

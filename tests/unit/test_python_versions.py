"""One pin per Python package, in files/python-versions.txt, for everything that installs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from python_pins import hpclab_pinned, parse_pins

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = (ROOT / "files" / "python-versions.txt").read_text()


def role_default_names(role: str, variable: str) -> list[str]:
    """The package names a role's default list passes to hpclab_pinned."""
    defaults = (ROOT / "roles" / role / "defaults" / "main.yml").read_text()
    template = re.search(rf"^{variable}: (.*?)\| hpclab_pinned", defaults, re.M | re.S)
    assert template is not None, f"{variable} does not use hpclab_pinned"
    return re.findall(r"'([^']+)'", template.group(1))


def test_every_tool_of_the_control_machine_has_its_version_there():
    requirements = [
        line.strip()
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    ]
    assert requirements
    versioned = [line for line in requirements if re.search(r"[=<>~!]", line)]
    assert versioned == [], "versions belong in files/python-versions.txt"
    hpclab_pinned([re.sub(r"\[.*\]", "", line) for line in requirements], VERSIONS)


@pytest.mark.parametrize(
    ("role", "variable"), [("jupyterhub", "jupyterhub_packages"), ("jupyter_env", "jupyter_env_packages")]
)
def test_the_roles_packages_take_their_pins_from_there(role, variable):
    names = role_default_names(role, variable)
    assert len(names) >= 3
    assert [pin.split("==")[0] for pin in hpclab_pinned(names, VERSIONS)] == names


def test_a_package_without_a_pin_fails_with_its_name():
    with pytest.raises(AnsibleFilterError, match="no version for jupyterlab-nonexistent"):
        hpclab_pinned(["jupyterhub", "jupyterlab-nonexistent"], VERSIONS)


def test_names_match_as_pip_compares_them():
    assert hpclab_pinned(["Jupyter_Server.Proxy"], "jupyter-server-proxy==4.6.0\n") == ["jupyter-server-proxy==4.6.0"]


@pytest.mark.parametrize("text", ["jupyterhub==5.5.4\njupyterhub==5.5.5\n", "jupyterhub>=5\n"])
def test_a_second_pin_or_a_range_is_refused(text):
    with pytest.raises(AnsibleFilterError):
        parse_pins(text)

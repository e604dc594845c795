"""Application definitions, as the site writes them (role data, server configuration).

    tensorboard:
      title: TensorBoard
      category: Applications          # or Dashboards
      command: [tensorboard, --host, "unix://{socket}", --path_prefix, "{prefix}"]
      endpoints: 3                     # 1 for code-server and noVNC
      required: [--logdir]             # arguments the user must give
      workdir_variable: MLRUNS_DIR     # start there when the variable is set (else HOME)
      missing_help: ...                # said when the command is not found
      icon: <svg ...>
      private_network: true            # a {port} app gets a network namespace of its own
      absolute_url: true               # the app serves under {prefix} (false: at /)
      open_path: ""                    # what the browser opens under the app's URL:
                                       # {path} (the app's URL path), {secret} (the launch's
                                       # own secret, also in the app's HPCLAB_APP_SECRET)

Placeholders in command: {socket} (a Unix socket path), {port} (a free TCP port),
{prefix} (the app's URL path, no trailing slash), {home}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDERS = frozenset({"socket", "port", "prefix", "home"})
NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
# An app is served at <server>/<name>/<endpoint>/ (the user guide's URLs), so a name may
# not be the first path segment of a route of the server or of its extensions.
RESERVED_NAMES = frozenset(
    {
        # Routes of the deployed Lab's server and extensions (test_lab_env checks the list).
        "api", "dask", "files", "git", "h5web", "hpclab", "jupyterfs", "jupyterlab_slurm",
        "kernelspecs", "lab", "login", "logout", "lsp", "metrics", "module", "nbconvert",
        "nbdime", "proxy", "server-proxy", "static", "terminals", "view", "voila",
        # Pages of Jupyter's other front ends (Notebook 7, classic).
        "custom", "doc", "edit", "nbextensions", "notebooks", "tree",
    }
)  # fmt: skip
_FIELDS = re.compile(r"\{([^{}]*)\}")


def app_route(name: str, endpoint: int) -> str:
    """The path of an app's endpoint under the server's base URL, without slashes."""
    return f"{name}/{endpoint}"


class DefinitionError(ValueError):
    pass


@dataclass(frozen=True)
class AppDefinition:
    name: str
    title: str
    command: tuple[str, ...]
    category: str = "Applications"
    endpoints: int = 3
    required: tuple[str, ...] = ()
    workdir_variable: str = ""
    missing_help: str = ""
    icon: str = ""
    timeout: float = 60.0
    environment: Mapping[str, str] = field(default_factory=dict)
    private_network: bool = True
    absolute_url: bool = True
    open_path: str = ""

    @property
    def listens_on_socket(self) -> bool:
        return any("{socket}" in word for word in self.command)

    @property
    def listens_on_port(self) -> bool:
        return any("{port}" in word for word in self.command)

    def public(self) -> dict[str, Any]:
        """What the front end needs: no command."""
        return {
            "name": self.name,
            "title": self.title,
            "category": self.category,
            "endpoints": self.endpoints,
            "required": list(self.required),
            "icon": self.icon,
        }


def definition(name: str, data: Mapping[str, Any]) -> AppDefinition:
    if not NAME.fullmatch(name):
        raise DefinitionError(f"app name {name!r}: lower-case letters, digits, - and _ only")
    if name in RESERVED_NAMES:
        raise DefinitionError(f"app name {name!r} is a route of the server ({name}/...): choose another name")
    command = data.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(word, str) for word in command):
        raise DefinitionError(f"app {name}: command must be a non-empty list of strings")
    for word in command:
        unknown = set(_FIELDS.findall(word)) - PLACEHOLDERS
        if unknown:
            raise DefinitionError(f"app {name}: unknown placeholder(s) {sorted(unknown)} in {word!r}")
    if sum("{socket}" in word or "{port}" in word for word in command) == 0:
        raise DefinitionError(f"app {name}: command must listen on {{socket}} or {{port}}")
    endpoints = data.get("endpoints", 3)
    if endpoints not in (1, 2, 3):
        raise DefinitionError(f"app {name}: endpoints must be 1, 2 or 3")
    return AppDefinition(
        name=name,
        title=str(data.get("title", name)),
        command=tuple(command),
        category=str(data.get("category", "Applications")),
        endpoints=endpoints,
        required=tuple(str(argument) for argument in data.get("required", [])),
        workdir_variable=str(data.get("workdir_variable", "")),
        missing_help=str(data.get("missing_help", "")),
        icon=str(data.get("icon", "")),
        timeout=float(data.get("timeout", 60)),
        environment={str(key): str(value) for key, value in dict(data.get("environment", {})).items()},
        private_network=bool(data.get("private_network", True)),
        absolute_url=bool(data.get("absolute_url", True)),
        open_path=str(data.get("open_path", "")),
    )


def catalogue(data: Mapping[str, Mapping[str, Any]]) -> dict[str, AppDefinition]:
    return {name: definition(name, entry) for name, entry in sorted(data.items())}

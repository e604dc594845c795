"""The variables a user set in the spawn form, carried to the server in one variable.

On the way from the hub to the server, sudo drops PATH, LD_*, BASH_ENV, PYTHONPATH,
PERL5LIB, TERMINFO and more, and the login shell that starts the server resets PATH.
The hub therefore sends them as one JSON object in ``HPCLAB_USER_ENVIRONMENT`` (a
reserved name users cannot set), and the server's launcher sets them just before it
starts the server, exactly as the hub accepted them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

USER_ENVIRONMENT_VARIABLE = "HPCLAB_USER_ENVIRONMENT"


def encode_user_environment(variables: Mapping[str, str]) -> str:
    # ASCII only, no control characters: safe in sudo's, Slurm's and systemd's hands.
    return json.dumps(dict(variables), ensure_ascii=True, sort_keys=True)


def server_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The launcher's environment with the user's variables applied (and their carrier gone)."""
    result = {name: value for name, value in environment.items() if name != USER_ENVIRONMENT_VARIABLE}
    encoded = environment.get(USER_ENVIRONMENT_VARIABLE)
    if not encoded:
        return result
    variables = json.loads(encoded)
    if not isinstance(variables, dict) or not all(isinstance(value, str) for value in variables.values()):
        raise ValueError(f"{USER_ENVIRONMENT_VARIABLE} is not an object of strings")
    return {**result, **variables}

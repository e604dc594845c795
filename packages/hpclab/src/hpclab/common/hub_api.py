"""The variables through which a server calls the hub: its reports, OAuth and activity.

The hub sets them; a server's launcher may move them (the sandbox, to loopback), and the
hub moves them to the proxy's TLS origin for servers on other nodes.
"""

from __future__ import annotations

HUB_URL_VARIABLES = ("JUPYTERHUB_API_URL", "JUPYTERHUB_ACTIVITY_URL")

# Set by the hub (to its account's uid) when a SLURM server must fetch its token: the
# launcher makes a munge credential only that uid may decode, with these fields.
TOKEN_HANDOVER_VARIABLE = "HPCLAB_TOKEN_HANDOVER_UID"
TOKEN_REQUEST_FIELDS = ("user", "server")
TOKEN_VARIABLES = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")

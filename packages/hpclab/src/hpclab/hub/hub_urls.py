"""The hub's address as servers on compute nodes reach it.

JupyterHub gives servers one API URL, the hub's connect URL, which the proxy uses too.
When the hub's API is kept off the cluster network (it listens on loopback), servers on
other nodes reach it through the proxy's TLS port instead: same paths, another origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from hpclab.common.hub_api import HUB_URL_VARIABLES


def hub_urls_through(origin: str, env: Mapping[str, str]) -> dict[str, str]:
    """The hub URL variables of env, moved to origin (scheme://host:port), paths kept."""
    target = urlsplit(origin)
    if target.scheme not in ("http", "https") or not target.netloc or target.path.strip("/"):
        raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    return {
        name: urlunsplit(urlsplit(env[name])._replace(scheme=target.scheme, netloc=target.netloc))
        for name in HUB_URL_VARIABLES
        if name in env
    }

"""The server's Content-Security-Policy on the responses it proxies, and who may frame what.

Jupyter sets the configured policy (ServerApp.tornado_settings.headers) on its own pages
only: what comes through /proxy/<port>/ and the apps' routes came without any, so any site
could frame a user's apps and the apps could load anything. This output transform gives
those responses the server's policy too. Framing: the Lab itself shows Voila previews and
proxied pages (the Dask extension's panes, code-server's own frames) in frames of its own
page, so those paths may be framed by the same origin; the Lab, its API and files may not
be framed at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from tornado import httputil, web

HEADER = "Content-Security-Policy"


def with_frame_ancestors(policy: str, sources: str) -> str:
    """The policy with its frame-ancestors directive set to sources (added if absent)."""
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    kept = [part for part in directives if part.split()[0].lower() != "frame-ancestors"]
    return "; ".join([*kept, f"frame-ancestors {sources}"])


def policy_transform(policy: str, framed_prefixes: Iterable[str]) -> type[web.OutputTransform]:
    """An output transform giving every response without a policy of its own this one,
    with frame-ancestors 'self' under the framed URL path prefixes."""
    prefixes = tuple(framed_prefixes)
    framed_policy = with_frame_ancestors(policy, "'self'")

    class ServerContentPolicy(web.OutputTransform):
        def __init__(self, request: httputil.HTTPServerRequest) -> None:
            self.framed = request.path.startswith(prefixes)

        def transform_first_chunk(
            self, status_code: int, headers: httputil.HTTPHeaders, chunk: bytes, finishing: bool
        ) -> tuple[int, httputil.HTTPHeaders, bytes]:
            # Jupyter's own pages carry the policy already; a proxied app's own policy stays.
            if headers.get(HEADER, policy) == policy:
                headers[HEADER] = framed_policy if self.framed else policy
            return status_code, headers, chunk

    return ServerContentPolicy

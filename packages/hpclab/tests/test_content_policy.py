"""The server's policy on proxied responses, and framing by the Lab's own page only where
the Lab frames."""

from __future__ import annotations

from tornado import httputil

from hpclab.lab.apps.content_policy import policy_transform, with_frame_ancestors

POLICY = "default-src 'self' data:; frame-ancestors 'none'"
FRAMED = ("/user/alice/x/voila/render/", "/user/alice/x/proxy/")


def transformed(path: str, headers: dict[str, str]) -> str | None:
    request = httputil.HTTPServerRequest(method="GET", uri=path)
    transform = policy_transform(POLICY, FRAMED)(request)
    _, result, _ = transform.transform_first_chunk(200, httputil.HTTPHeaders(headers), b"", True)
    return result.get("Content-Security-Policy")


def test_frame_ancestors_is_replaced_or_added():
    assert with_frame_ancestors(POLICY, "'self'") == "default-src 'self' data:; frame-ancestors 'self'"
    assert with_frame_ancestors("default-src 'self';", "'self'") == "default-src 'self'; frame-ancestors 'self'"


def test_the_lab_may_not_be_framed_and_a_proxied_page_gets_the_policy():
    assert transformed("/user/alice/x/lab", {"Content-Security-Policy": POLICY}) == POLICY
    # A proxied app's page came with no policy at all; another site could frame it.
    assert transformed("/user/alice/x/proxy/8787/individual-task-stream", {}) == with_frame_ancestors(POLICY, "'self'")
    assert transformed("/user/alice/x/voila/render/app.ipynb", {"Content-Security-Policy": POLICY}).endswith(
        "frame-ancestors 'self'"
    )


def test_an_apps_own_policy_stays():
    own = "default-src 'self'; script-src 'nonce-abc'"
    assert transformed("/user/alice/x/proxy/8080/", {"Content-Security-Policy": own}) == own

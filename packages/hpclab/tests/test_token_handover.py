"""The hub hands a SLURM server's token only against a good munge credential."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from hpclab.hub.token_handover import (
    HandoverError,
    HandoverForbidden,
    HandoverUnavailable,
    MungeIdentity,
    decode_credential,
    parse_payload,
    parse_request,
    parse_unmunge_output,
)

# unmunge --numeric, as it answered on the demo's hub for a credential alice made on cn1.
DECODED = """STATUS:          0
ENCODE_HOST:     172.29.213.12
ENCODE_TIME:     1796298734
DECODE_TIME:     1796298734
TTL:             300
CIPHER:          4
MAC:             5
ZIP:             0
UID:             2001
GID:             2001
UID_RESTRICTION: 997
LENGTH:          32

{"user": "alice", "server": "gpu"}"""


def test_a_decoded_credential_gives_its_makers_uid_and_payload():
    assert parse_unmunge_output(0, DECODED) == MungeIdentity(2001, '{"user": "alice", "server": "gpu"}')


@pytest.mark.parametrize(
    ("returncode", "output"),
    [
        # A replayed credential (munge decodes each one once), an expired one, garbage.
        (17, DECODED.replace("STATUS:          0", "STATUS:          17")),
        (15, DECODED.replace("STATUS:          0", "STATUS:          15")),
        (0, DECODED.replace("UID:             2001", "UID:             alice")),
        (1, "STATUS: 1\n"),
    ],
)
def test_a_credential_munge_does_not_vouch_for_is_forbidden(returncode, output):
    with pytest.raises(HandoverForbidden, match="munge refused"):
        parse_unmunge_output(returncode, output)


def test_a_request_carries_a_munge_credential_only():
    assert parse_request(b'{"credential": "MUNGE:abc:"}') == "MUNGE:abc:"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff",
        b"[]",
        b'{"credential": "MUNGE:x", "token": "t"}',
        b'{"credential": 5}',
        b'{"credential": "abc"}',
        json.dumps({"credential": "MUNGE:" + "x" * 5000}).encode(),
    ],
)
def test_anything_else_is_a_bad_request(body):
    with pytest.raises(HandoverError):
        parse_request(body)


def test_the_payload_names_a_user_and_a_server():
    assert parse_payload('{"user": "alice", "server": ""}') == ("alice", "")
    for payload in ["", "[]", '{"user": "alice"}', '{"user": "alice", "server": 1}', '{"user": 1, "server": ""}']:
        with pytest.raises(HandoverError):
            parse_payload(payload)


def test_the_credential_is_decoded_by_unmunge(tmp_path: Path):
    unmunge = tmp_path / "unmunge"
    unmunge.write_text(f"#!/bin/sh\ncat > {tmp_path}/input\ncat <<'END'\n{DECODED}\nEND\n")
    unmunge.chmod(0o755)
    identity = asyncio.run(decode_credential("MUNGE:abc:", [str(unmunge)]))
    assert identity.uid == 2001
    assert (tmp_path / "input").read_text() == "MUNGE:abc:"


def test_munged_down_is_a_failure_of_the_hub_not_of_the_credential():
    # unmunge's answer when munged's socket is missing: an error, no STATUS line.
    with pytest.raises(HandoverUnavailable, match="exit status 6"):
        parse_unmunge_output(6, "")


def test_a_hub_without_unmunge_cannot_decode_for_now(tmp_path: Path):
    with pytest.raises(HandoverUnavailable, match="cannot decode"):
        asyncio.run(decode_credential("MUNGE:abc:", [str(tmp_path / "missing")]))

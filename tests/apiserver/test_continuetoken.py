"""Continue tokens: opaque, round-trip, and refused when malformed."""

from __future__ import annotations

import base64

import pytest

from corral.apiserver.store import decode_continue, encode_continue
from corral.machinery.status import BadRequest

PREFIX = "/registry/core/configmaps/"


def test_round_trip() -> None:
    token = encode_continue(42, PREFIX + "ns/name", PREFIX)
    assert "/registry" not in token
    assert decode_continue(token, PREFIX) == (42, PREFIX + "ns/name")


@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(b'{"v":"meta.k8s.io/v1","rv":0,"start":"a"}').decode(),
        base64.urlsafe_b64encode(b'{"v":"meta.k8s.io/v1","rv":3,"start":"/x"}').decode(),
        base64.urlsafe_b64encode(b'{"v":"meta.k8s.io/v1","rv":3,"start":"../x"}').decode(),
        base64.urlsafe_b64encode(b'{"v":"other","rv":3,"start":"a"}').decode(),
    ],
)
def test_malformed_tokens_are_bad_requests(token: str) -> None:
    with pytest.raises(BadRequest):
        decode_continue(token, PREFIX)

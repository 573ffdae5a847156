"""Corral token strings, their salted hashes, and where a request carries them."""

from __future__ import annotations

import base64

from corral.auth import hash_secret, new_token, parse_token, presented_token, secret_matches
from corral.machinery.sessions import SESSION_COOKIE


def test_new_tokens_parse_back_and_hide_their_secret() -> None:
    token = new_token()
    assert token.name.startswith("token-")
    assert len(token.name) == 11
    assert parse_token(str(token)) == token
    assert token.secret not in repr(token)
    assert new_token() != token


def test_hash_is_salted_and_checked() -> None:
    token = new_token()
    first, second = hash_secret(token.secret), hash_secret(token.secret)
    assert first != second
    assert token.secret not in first
    assert secret_matches(first, token.secret)
    assert secret_matches(second, token.secret)
    assert not secret_matches(first, new_token().secret)
    for broken in ("", "sha256:aa:bb", "hmac-sha256:zz:bb", "hmac-sha256::"):
        assert not secret_matches(broken, token.secret)


def test_malformed_strings_are_not_tokens() -> None:
    secret = "a" * 48
    for text in ("", "token-abcde", f"token-abcd:{secret}", f"token-ABCDE:{secret}", "x:y"):
        assert parse_token(text) is None
    assert parse_token(f"token-abcde:{secret[:-1]}") is None
    assert parse_token(f"token-abcde:{secret}") is not None


def test_presented_as_bearer_basic_or_cookie() -> None:
    token = new_token()
    basic = base64.b64encode(str(token).encode()).decode()
    assert presented_token({"authorization": f"Bearer {token}"}) == token
    assert presented_token({"authorization": f"bearer  {token}"}) == token
    assert presented_token({"authorization": f"Basic {basic}"}) == token
    assert presented_token({"cookie": f"other=1; {SESSION_COOKIE}={token}"}) == token
    # The header wins over the cookie; a foreign scheme is not ours.
    assert (
        presented_token({"authorization": "Bearer x", "cookie": f"{SESSION_COOKIE}={token}"})
        is None
    )
    assert presented_token({"authorization": f"Digest {token}"}) is None
    assert presented_token({"authorization": "Basic %%%"}) is None
    assert presented_token({}) is None

"""Reading a bearer token out of request headers, and nothing else.

Only ``Authorization: Bearer <token>`` (scheme case-insensitive, as in
Kubernetes) yields a token; anything else yields None, so an authenticator
never has to guess. The token itself is never logged or echoed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def token_sha256(token: str) -> str:
    """Lower-case hex SHA-256 of a token: what is stored instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()

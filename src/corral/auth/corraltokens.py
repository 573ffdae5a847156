"""Corral tokens: their string form, their stored hash, and finding one in a request.

A token string is ``<name>:<secret>``: ``<name>`` is ``token-`` and five
lower-case letters or digits, the ``metadata.name`` of its ``Token`` object;
``<secret>`` is 48 random lower-case letters and digits (about 248 bits), so
the string is safe in a header, a cookie and a Basic credential alike.

Only a hash is stored (`hash_secret`): ``hmac-sha256:<salt>:<digest>``, the
HMAC-SHA256 of the secret keyed by a random per-token salt (hex). The secret
is random and long, so a fast hash is enough (argon2 would make every
request pay for it); the salt keeps equal secrets from having equal hashes.
`secret_matches` compares with `hmac.compare_digest`.

A request presents a token (`presented_token`) as ``Authorization: Bearer
<name>:<secret>``, as HTTP Basic with the name as user and the secret as
password, or — with no ``Authorization`` header — as the session cookie.
Anything else is not a Corral token (None), so other authenticators get
their turn. Nothing here logs or echoes a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from corral.machinery.sessions import SESSION_COOKIE, cookie_value

NAME_PREFIX = "token-"
_ALPHABET = string.ascii_lowercase + string.digits
_NAME = re.compile(r"token-[a-z0-9]{5}\Z")
_SECRET = re.compile(r"[a-z0-9]{48}\Z")
_HASH_SCHEME = "hmac-sha256"


@dataclass(frozen=True, slots=True)
class TokenString:
    """A token as presented: the Token's name and the secret."""

    name: str
    secret: str

    def __str__(self) -> str:
        return f"{self.name}:{self.secret}"

    def __repr__(self) -> str:  # never show the secret
        return f"TokenString({self.name!r}, '***')"


def new_token() -> TokenString:
    """A fresh random token (its name may already be taken: create, and retry on conflict)."""
    name = NAME_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return TokenString(name, "".join(secrets.choice(_ALPHABET) for _ in range(48)))


def parse_token(text: str) -> TokenString | None:
    """The token in ``text`` if it has the Corral token form, else None."""
    name, sep, secret = text.partition(":")
    if not sep or not _NAME.match(name) or not _SECRET.match(secret):
        return None
    return TokenString(name, secret)


def hash_secret(secret: str) -> str:
    """What is stored for ``secret``: scheme, random salt and HMAC, colon-separated."""
    salt = secrets.token_hex(16)
    digest = hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()
    return f"{_HASH_SCHEME}:{salt}:{digest}"


def secret_matches(stored: str, secret: str) -> bool:
    """True if ``secret`` is the one ``stored`` was made from."""
    scheme, _, rest = stored.partition(":")
    salt, _, digest = rest.partition(":")
    if scheme != _HASH_SCHEME or not salt or not digest:
        return False
    try:
        key = bytes.fromhex(salt)
    except ValueError:
        return False
    mine = hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mine.encode(), digest.encode())


def presented_token(headers: Mapping[str, str]) -> TokenString | None:
    """The Corral token a request carries (Bearer, Basic, or session cookie), or None."""
    value = headers.get("authorization")
    if value is None:
        cookie = cookie_value(headers, SESSION_COOKIE)
        return None if cookie is None else parse_token(cookie)
    scheme, _, credential = value.strip().partition(" ")
    credential = credential.strip()
    scheme = scheme.lower()
    if scheme == "bearer":
        return parse_token(credential)
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return parse_token(decoded)
    return None

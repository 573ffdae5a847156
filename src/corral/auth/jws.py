"""Compact JWS with ES256: just enough JOSE for service account tokens.

A token is ``base64url(header) . base64url(payload) . base64url(signature)``
(RFC 7515 compact serialisation, base64url without padding). The header is
``{"alg":"ES256","kid":…}``; the signature is ECDSA P-256 over SHA-256 of
the first two parts, encoded as RFC 7518 §3.4 says: the raw ``r || s``
(32 bytes each, big-endian), not the DER that ``cryptography`` produces.

Hand-rolled on ``cryptography`` rather than a JWT library, on purpose: one
algorithm and one key type is all Corral issues, and a verifier that accepts
exactly that cannot be talked into ``alg: none``, HMAC-with-the-public-key
or a key named in the token. Verification is strict: three parts, base64url
alphabet only, ``alg`` exactly ES256, no ``crit``, a ``kid`` naming one of
the keys the caller trusts, a 64-byte signature, header and payload JSON
objects, canonical base64url (one spelling per token), and a bounded
size. Claims (expiry, audience…) are the caller's
business (`corral.auth.satokens`).

The ``kid`` is Kubernetes' key id: base64url of the SHA-256 of the public
key's DER ``SubjectPublicKeyInfo`` — stable for a key, and different for
every key, so a verifier can hold several (rotation) and pick by id.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from corral.auth.errors import InvalidTokenError

ALGORITHM = "ES256"
#: Longest token looked at; anything longer is refused before any parsing.
MAX_TOKEN_LENGTH = 16 * 1024
_COORDINATE = 32  # bytes of r and of s for P-256
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")

PublicKey = ec.EllipticCurvePublicKey
PrivateKey = ec.EllipticCurvePrivateKey


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of `b64url`; `InvalidTokenError` for anything else.

    Only the canonical encoding is accepted (unused low bits of the last
    character must be zero), so a token has exactly one spelling.
    """
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise InvalidTokenError("malformed base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise InvalidTokenError("non-canonical base64url")
    return data


def key_id(public_key: PublicKey) -> str:
    """Kubernetes' key id: base64url(SHA-256(DER SubjectPublicKeyInfo))."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b64url(hashlib.sha256(der).digest())


def sign(payload: Mapping[str, Any], key: PrivateKey, kid: str | None = None) -> str:
    """The compact JWS of ``payload`` signed with ``key`` (kid: its `key_id`)."""
    header = {"alg": ALGORITHM, "kid": kid if kid is not None else key_id(key.public_key())}
    signing_input = f"{b64url(orjson.dumps(header))}.{b64url(orjson.dumps(dict(payload)))}"
    der = key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")
    return f"{signing_input}.{b64url(raw)}"


def peek_header(token: str) -> dict[str, Any]:
    """The header of a compact JWS, unverified (to decide whether it is ours)."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise InvalidTokenError("not a compact JWS")
    return _json_object(b64url_decode(token.split(".", 1)[0]))


def verify(token: str, keys: Mapping[str, PublicKey]) -> dict[str, Any]:
    """The payload of ``token`` if one of ``keys`` (by kid) signed it with ES256.

    Raises `InvalidTokenError` otherwise; its message never contains the token.
    """
    header = peek_header(token)
    if header.get("alg") != ALGORITHM:
        raise InvalidTokenError("unsupported algorithm")
    if "crit" in header:
        raise InvalidTokenError("unsupported critical header")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidTokenError("unknown signing key")
    header_part, payload_part, signature_part = token.split(".")
    payload = b64url_decode(payload_part)  # also proves both parts are ASCII
    raw = b64url_decode(signature_part)
    if len(raw) != 2 * _COORDINATE:
        raise InvalidTokenError("malformed signature")
    der = encode_dss_signature(
        int.from_bytes(raw[:_COORDINATE], "big"), int.from_bytes(raw[_COORDINATE:], "big")
    )
    signing_input = f"{header_part}.{payload_part}".encode("ascii")
    try:
        key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise InvalidTokenError("bad signature") from None
    return _json_object(payload)


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvalidTokenError("malformed JSON") from None
    if not isinstance(value, dict):
        raise InvalidTokenError("not a JSON object")
    return value

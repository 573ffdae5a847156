"""Continue tokens: where the next page of a paginated LIST starts.

A token is opaque to clients and, as in Kubernetes, is base64 (URL-safe) of a
small JSON document: ``{"v":"meta.k8s.io/v1","rv":<revision>,"start":<key>}``.
The revision pins every page to one consistent snapshot; ``start`` is the
last key returned, relative to the list's prefix, so a token cannot be
replayed against another resource's keys. A token whose revision has been
compacted answers 410 Expired (with the hint Kubernetes gives).
"""

from __future__ import annotations

import base64
import binascii

import orjson

from corral.machinery.status import BadRequest

_VERSION = "meta.k8s.io/v1"


def encode_continue(revision: int, last_key: str, prefix: str) -> str:
    """The token for the page after ``last_key`` (a key under ``prefix``)."""
    relative = last_key[len(prefix) :] if last_key.startswith(prefix) else last_key
    doc = orjson.dumps({"v": _VERSION, "rv": revision, "start": relative})
    return base64.urlsafe_b64encode(doc).decode().rstrip("=")


def decode_continue(token: str, prefix: str) -> tuple[int, str]:
    """The (revision, last key) a token names; 400 BadRequest if it is malformed."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise BadRequest(f"invalid continue token: {token!r}") from None
    if not isinstance(doc, dict) or doc.get("v") != _VERSION:
        raise BadRequest("continue key is not valid: incorrect encoded start resourceVersion")
    revision, start = doc.get("rv"), doc.get("start")
    if not isinstance(revision, int) or revision <= 0 or not isinstance(start, str):
        raise BadRequest("continue key is not valid: incorrect encoded start resourceVersion")
    if start.startswith("/") or ".." in start:
        raise BadRequest("continue key is not valid: path traversal")
    return revision, prefix + start

"""How an object is kept in storage, and how its bytes get a resourceVersion.

Decision: the storage value IS the object's JSON (orjson), with
``metadata.resourceVersion`` left out, and with ``apiVersion``, ``kind`` and
``metadata`` as its first keys. An object's resourceVersion is its key's
``mod_revision``, which is only known once the write is done; so instead of
re-encoding, the served bytes are the stored bytes with
``"resourceVersion":"<rev>",`` spliced in right after the first
``"metadata":{`` (which is the top-level one: ``apiVersion`` and ``kind`` are
plain strings before it, and a JSON string can never contain an unescaped
``"metadata":{``). That splice is done once per revision by the watch cache
and shared by every watcher and every LIST that includes it.
"""

from __future__ import annotations

from typing import Any

import orjson

_META = b'"metadata":{'


def encode_for_storage(obj: dict[str, Any]) -> bytes:
    """The stored form of ``obj`` (which must have a non-empty ``metadata``)."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    ordered: dict[str, Any] = {}
    for key in ("apiVersion", "kind"):
        if key in obj:
            ordered[key] = obj[key]
    ordered["metadata"] = meta
    for key, value in obj.items():
        if key not in ordered:
            ordered[key] = value
    return orjson.dumps(ordered)


def with_resource_version(value: bytes, revision: int) -> bytes:
    """The stored ``value`` as served: ``metadata.resourceVersion`` set to ``revision``."""
    at = value.find(_META)
    if at < 0 or value[at + len(_META) : at + len(_META) + 1] == b"}":
        return orjson.dumps(decode(value, revision))
    cut = at + len(_META)
    return b'%s"resourceVersion":"%d",%s' % (value[:cut], revision, value[cut:])


def decode(value: bytes, revision: int) -> dict[str, Any]:
    """The object a stored ``value`` holds, with its resourceVersion."""
    obj: dict[str, Any] = orjson.loads(value)
    meta = obj.setdefault("metadata", {})
    meta["resourceVersion"] = str(revision)
    return obj

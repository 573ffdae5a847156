"""Shared pieces of the store: the result type, key reads, error mapping.

`Stored` pairs an object (a plain dict) with its served JSON bytes, so a
handler answers with bytes encoded once per revision. The storage errors a
write can meet are mapped here to the Kubernetes ``Status`` errors clients
expect (AlreadyExists, Conflict, NotFound).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from corral.apiserver.registry import ResourceType
from corral.apiserver.store.encoding import decode, encode_for_storage, with_resource_version
from corral.machinery.status import AlreadyExists, BadRequest, Conflict, NotFound
from corral.storage import KeyExistsError, KeyNotFoundError, KeyValue, RevisionMismatchError


@dataclass(slots=True)
class Stored:
    """An object and its JSON as served (with ``metadata.resourceVersion``)."""

    obj: dict[str, Any]
    body: bytes

    @classmethod
    def from_kv(cls, kv: KeyValue) -> Stored:
        return cls(
            decode(kv.value, kv.mod_revision), with_resource_version(kv.value, kv.mod_revision)
        )

    @classmethod
    def unsaved(cls, obj: dict[str, Any]) -> Stored:
        return cls(obj, orjson.dumps(obj))


def stored_from_kv(rt: ResourceType, kv: KeyValue) -> Stored:
    """The object a key holds, in ``rt``'s served shape."""
    if rt.conversion is None:
        return Stored.from_kv(kv)
    obj = rt.conversion.to_served(decode(kv.value, kv.mod_revision))
    return Stored(obj, orjson.dumps(obj))


def encode_object(rt: ResourceType, obj: dict[str, Any]) -> bytes:
    """The stored bytes of a served-shape object of ``rt``."""
    if rt.conversion is not None:
        obj = rt.conversion.to_stored(obj)
    return encode_for_storage(obj)


def served_body(rt: ResourceType, body: bytes) -> bytes:
    """Served JSON of stored-shape JSON ``body`` (the same bytes for most kinds)."""
    if rt.conversion is None:
        return body
    return orjson.dumps(rt.conversion.to_served(orjson.loads(body)))


def meta_of(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj["metadata"]``, created if missing; 400 if it is not an object."""
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise BadRequest("metadata must be an object")
    return meta


@contextlib.contextmanager
def storage_errors(rt: ResourceType, name: str) -> Iterator[None]:
    """Map the storage errors of one write to Kubernetes Status errors."""
    try:
        yield
    except KeyExistsError:
        raise AlreadyExists(rt.resource, name, group=rt.group) from None
    except KeyNotFoundError:
        raise NotFound(rt.resource, name, group=rt.group) from None
    except RevisionMismatchError:
        raise Conflict(rt.resource, name, group=rt.group) from None

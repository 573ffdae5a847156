"""Turning etcd's key-values and watch events into the storage layer's types.

Decides the mapping: ``mod_revision`` and ``create_revision`` are etcd's own;
a put whose ``create_revision`` equals its ``mod_revision`` is a CREATE, any
other put an UPDATE; a delete carries the value the key had (etcd's
``prev_kv``, which every Corral watch asks for). ``prev_revision`` is the
``mod_revision`` of ``prev_kv``; if etcd no longer has it (compacted), it is 0
and a delete's value is empty.
"""

from __future__ import annotations

from typing import Any

from aetcd import rpc

from corral.storage.etcd.keys import ttl_of
from corral.storage.types import Event, EventType, KeyValue

_DELETE = rpc.Event.DELETE


def key_value(kv: Any, root_length: int) -> KeyValue:
    """An etcd ``mvccpb.KeyValue`` under the root, as a storage `KeyValue`."""
    return KeyValue(
        kv.key[root_length:].decode(),
        kv.value,
        kv.create_revision,
        kv.mod_revision,
        ttl_of(kv.lease),
    )


def event(raw: Any, root_length: int) -> Event:
    """An etcd watch event under the root, as a storage `Event`."""
    kv = raw.kv
    has_prev = raw.HasField("prev_kv")
    prev = raw.prev_kv
    if raw.type == _DELETE:
        key = kv.key[root_length:].decode()
        if has_prev:
            deleted = KeyValue(
                key, prev.value, prev.create_revision, kv.mod_revision, ttl_of(prev.lease)
            )
            return Event(EventType.DELETE, deleted, prev.mod_revision)
        return Event(EventType.DELETE, KeyValue(key, b"", 0, kv.mod_revision))
    kind = EventType.CREATE if kv.create_revision == kv.mod_revision else EventType.UPDATE
    prev_revision = prev.mod_revision if has_prev and kind is EventType.UPDATE else 0
    return Event(kind, key_value(kv, root_length), prev_revision)

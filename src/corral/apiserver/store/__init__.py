"""The generic object store: Kubernetes object semantics on a storage `Backend`.

Like Kubernetes' generic registry store, it works for every kind, driven by
the kind's `ResourceType` (scope, spec/status split, name rules, strategy):
`create_object`, `mutate_object`/`update_object` (PUT and PATCH),
`delete_object`, and reads (`get_object`, `list_objects`). How objects are
encoded in storage is decided in `encoding`; continue tokens in
`continuetoken`.
"""

from __future__ import annotations

from corral.apiserver.store.continuetoken import decode_continue, encode_continue
from corral.apiserver.store.create import create_object
from corral.apiserver.store.delete import delete_object, success_status
from corral.apiserver.store.encoding import decode, encode_for_storage, with_resource_version
from corral.apiserver.store.objects import Stored
from corral.apiserver.store.reads import ListPage, get_object, list_objects
from corral.apiserver.store.update import mutate_object, update_object

__all__ = [
    "ListPage",
    "Stored",
    "create_object",
    "decode",
    "decode_continue",
    "delete_object",
    "encode_continue",
    "encode_for_storage",
    "get_object",
    "list_objects",
    "mutate_object",
    "success_status",
    "update_object",
    "with_resource_version",
]

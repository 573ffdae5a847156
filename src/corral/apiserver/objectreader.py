"""Point lookups of current objects for the authenticators, from the watch caches.

The service account authenticator (``corral.auth``) must know, for every
request carrying a service account token, whether the account — and the
pod or secret the token is bound to — still exists with the same uid. The
watch caches already hold every current object by storage key, kept up to
date by the storage watch, so `CachedObjects.current` is a dictionary
lookup (the object is parsed once per revision, lazily): no scan, no extra
watch, no second copy of the pods. It satisfies ``corral.auth``'s
``ObjectReader`` structurally (the API server never imports auth).

When the cache does not have the object — it has not listed yet, or the
object was created a moment ago and its event is still on the way — the
answer comes from one point read of the datastore, as kube-apiserver's
service account getter falls back from its informer to a live GET. A
deleted object is gone from the cache as soon as its event is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.store.encoding import decode
from corral.storage import StorageError

log = logging.getLogger("corral.apiserver")


class CachedObjects:
    """Current objects of one group version (core/v1 unless told) by namespace
    and name (watch cache, then storage)."""

    def __init__(self, parts: ServerParts, group: str = "", version: str = "v1") -> None:
        self._parts = parts
        self._group = group
        self._version = version

    async def current(self, resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        rt = self._parts.registry.lookup(self._group, self._version, resource)
        if rt is None or not name or (rt.namespaced and not namespace):
            return None
        key = rt.key(namespace, name)
        if rt.storage_prefix in self._parts.caches:
            hit = self._parts.caches[rt.storage_prefix].get(key)
            if hit is not None:
                return hit.obj
        try:
            kv = await self._parts.backend.get(key)
        except StorageError as exc:
            log.warning("object lookup failed", extra={"key": key, "error": str(exc)})
            return None
        return None if kv is None else decode(kv.value, kv.mod_revision)

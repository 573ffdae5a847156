"""What the admission plugins share: reading a namespace's objects.

Every namespaced create consults the namespace's LimitRanges and
ResourceQuotas, so they come from the watch cache (a dict scan of that
namespace, usually empty), as Kubernetes' admission reads its informers;
storage is read only when no synced cache exists or a caller needs the
latest state (quota charging retries a lost compare-and-swap from storage).
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.store.encoding import decode
from corral.apiserver.watchcache import WatchCaches
from corral.storage import Backend, KeyValue

Obj = dict[str, Any]


async def namespace_objects(
    backend: Backend,
    resource_prefix: str,
    namespace: str,
    caches: WatchCaches | None = None,
) -> list[Obj]:
    """The objects under ``<resource_prefix><namespace>/``, with resourceVersions.

    From the watch cache when ``caches`` has a synced one (callers must not
    mutate what they get), else from storage.
    """
    prefix = f"{resource_prefix}{namespace}/"
    if caches is not None and resource_prefix in caches:
        cache = caches[resource_prefix]
        if cache.synced.is_set():
            return [o.obj for o in cache.snapshot(prefix)[0]]
    page = await backend.list(prefix)
    return [decode(kv.value, kv.mod_revision) for kv in page.items]


async def read(backend: Backend, key: str) -> tuple[KeyValue, Obj] | None:
    kv = await backend.get(key)
    return None if kv is None else (kv, decode(kv.value, kv.mod_revision))

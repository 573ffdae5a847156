"""`Indexer`: the informer's cache of objects, by key and by any number of indexes.

Controllers read objects from the cache, never from the API server, so a
reconcile costs no request; and they often need "every pod of this node" or
"every object in this namespace" without scanning everything. The indexer
keeps objects by key (``namespace/name``, or ``name`` for cluster-scoped
objects, as client-go's ``MetaNamespaceKeyFunc``) and maintains each
registered index incrementally: an index function maps an object to the list
of values it is filed under. The ``namespace`` index is built in.

Objects are plain dicts and are stored as given: callers must not mutate what
they read (copy first), as with client-go's cache.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]

NAMESPACE_INDEX = "namespace"


def object_key(obj: Obj) -> str:
    """``namespace/name`` for a namespaced object, ``name`` for a cluster-scoped one."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    namespace = meta.get("namespace") or ""
    return f"{namespace}/{name}" if namespace else str(name)


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` of a key (namespace empty for a cluster-scoped object)."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


def namespace_index(obj: Obj) -> list[str]:
    """The built-in index: an object's namespace (none for cluster-scoped objects)."""
    namespace = (obj.get("metadata") or {}).get("namespace")
    return [namespace] if namespace else []


class Indexer:
    """Objects by key, plus named indexes kept up to date on every change."""

    def __init__(self) -> None:
        self._items: dict[str, Obj] = {}
        self._funcs: dict[str, IndexFunc] = {}
        self._indexes: dict[str, dict[str, set[str]]] = {}
        self.add_indexer(NAMESPACE_INDEX, namespace_index)

    def has_index(self, name: str) -> bool:
        return name in self._funcs

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        """Register index `name`; objects already cached are indexed at once."""
        if name in self._funcs:
            raise ValueError(f"index {name!r} already exists")
        self._funcs[name] = fn
        self._indexes[name] = {}
        for key, obj in self._items.items():
            self._file(name, key, obj)

    # -- reads -------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Obj]:
        return iter(list(self._items.values()))

    def list_keys(self) -> builtins.list[str]:
        return list(self._items)

    def list(self) -> builtins.list[Obj]:
        return list(self._items.values())

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        """The objects filed under `value` in index `name` (KeyError for an unknown index)."""
        keys = self._indexes[name].get(value, set())
        return [self._items[k] for k in sorted(keys)]

    def index_keys(self, name: str, value: str) -> builtins.list[str]:
        return sorted(self._indexes[name].get(value, set()))

    # -- writes ------------------------------------------------------------

    def put(self, obj: Obj) -> Obj | None:
        """Store `obj` under its key; the object it replaced, if any."""
        key = object_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unfile_all(key, old)
        self._items[key] = obj
        for name in self._funcs:
            self._file(name, key, obj)
        return old

    def delete(self, key: str) -> Obj | None:
        """Drop the object of `key`; the object dropped, if any."""
        old = self._items.pop(key, None)
        if old is not None:
            self._unfile_all(key, old)
        return old

    def _file(self, name: str, key: str, obj: Obj) -> None:
        index = self._indexes[name]
        for value in self._funcs[name](obj):
            index.setdefault(value, set()).add(key)

    def _unfile_all(self, key: str, obj: Obj) -> None:
        for name, fn in self._funcs.items():
            index = self._indexes[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

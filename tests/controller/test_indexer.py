"""The indexer alone: keys, the namespace index, custom indexes kept up to date."""

from __future__ import annotations

from typing import Any

import pytest

from corral.controller import Indexer, object_key, split_key


def obj(name: str, namespace: str = "", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta}


def by_app(o: dict[str, Any]) -> list[str]:
    app = o["metadata"]["labels"].get("app")
    return [app] if app else []


def test_keys() -> None:
    assert object_key(obj("a", "ns")) == "ns/a"
    assert object_key(obj("node1")) == "node1"
    assert split_key("ns/a") == ("ns", "a")
    assert split_key("node1") == ("", "node1")


def test_namespace_and_custom_indexes_follow_changes() -> None:
    idx = Indexer()
    idx.put(obj("a", "x", app="web"))
    idx.put(obj("b", "x", app="db"))
    idx.add_indexer("app", by_app)  # indexes what is already cached
    idx.put(obj("c", "y", app="web"))
    assert [o["metadata"]["name"] for o in idx.by_index("namespace", "x")] == ["a", "b"]
    assert idx.index_keys("app", "web") == ["x/a", "y/c"]

    old = idx.put(obj("a", "x", app="db"))  # relabelled: moves between index values
    assert old is not None
    assert idx.index_keys("app", "web") == ["y/c"]
    assert idx.index_keys("app", "db") == ["x/a", "x/b"]

    assert idx.delete("x/b") is not None
    assert idx.delete("x/b") is None
    assert idx.index_keys("app", "db") == ["x/a"]
    assert idx.by_index("namespace", "nothing") == []
    assert len(idx) == 2
    assert "y/c" in idx
    with pytest.raises(ValueError, match="already exists"):
        idx.add_indexer("app", by_app)
    with pytest.raises(KeyError):
        idx.by_index("unknown", "v")

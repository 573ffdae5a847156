"""The garbage collector's pure parts: reading owner references, the dependents index."""

from __future__ import annotations

from typing import Any

from corral.kube.apiresources import Discovered, parse_group_version
from corral.kube.garbagecollector.graph import DependentsIndex
from corral.kube.garbagecollector.ownerrefs import (
    FOREGROUND,
    OwnerRef,
    blocks,
    is_deleting_dependents,
    owner_refs,
    owner_uids,
)
from corral.kube.resources import CONFIG_MAPS, PODS, SECRETS


def obj(*refs: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x", "ownerReferences": list(refs), **meta}}


def test_owner_refs_skip_malformed_entries() -> None:
    good = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}
    blocking = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "c",
        "uid": "u2",
        "blockOwnerDeletion": True,
    }
    bad = [{"kind": "ReplicaSet", "name": "rs", "uid": "u3"}, "nonsense", {"uid": ""}]
    found = owner_refs(obj(good, blocking, *bad))  # type: ignore[arg-type]
    assert found == [
        OwnerRef("apps/v1", "ReplicaSet", "rs", "u1", False),
        OwnerRef("v1", "ConfigMap", "c", "u2", True),
    ]
    assert [r.group for r in found] == ["apps", ""]
    assert owner_uids(obj(good, blocking)) == {"u1", "u2"}
    assert blocks(obj(good, blocking), "u2")
    assert not blocks(obj(good, blocking), "u1")
    assert owner_refs({"metadata": None}) == []


def test_deleting_dependents_needs_both_the_mark_and_the_finalizer() -> None:
    assert is_deleting_dependents(obj(deletionTimestamp="t", finalizers=[FOREGROUND]))
    assert not is_deleting_dependents(obj(finalizers=[FOREGROUND]))
    assert not is_deleting_dependents(obj(deletionTimestamp="t", finalizers=["orphan"]))


def test_dependents_index_follows_changes() -> None:
    index = DependentsIndex()
    pod, secret = (PODS, "ns/p"), (SECRETS, "ns/s")
    index.update(pod, (), {"a", "b"})
    index.update(secret, (), {"a"})
    assert index.dependents("a") == [pod, secret]
    index.update(pod, {"a", "b"}, {"b", "c"})
    assert index.dependents("a") == [secret]
    assert index.dependents("c") == [pod]
    index.update(secret, {"a"}, ())
    assert not index.has_dependents("a")
    assert len(index) == 2
    index.drop_resource(PODS)
    assert len(index) == 0
    index.update((CONFIG_MAPS, "ns/c"), (), {"z"})
    assert index.dependents("z") == [(CONFIG_MAPS, "ns/c")]


def test_group_versions_and_discovery_messages() -> None:
    assert parse_group_version("v1") == ("", "v1")
    assert parse_group_version("apps/v1") == ("apps", "v1")
    assert parse_group_version("a/b/c") is None
    assert parse_group_version("/v1") is None
    found = Discovered(failed={"b.io/v1": "down", "a.io/v1": "gone"}, unparsable=["x/y/z"])
    assert found.failure_message() == (
        "unable to retrieve the complete list of server APIs: a.io/v1: gone, b.io/v1: down"
    )
    assert found.parsing_message() == "unexpected GroupVersion string: x/y/z"

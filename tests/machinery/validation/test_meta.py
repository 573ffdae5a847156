"""ObjectMeta rules shared by every kind, on create and on update."""

from __future__ import annotations

import copy
from typing import Any

from corral.machinery.validation import strategy_for


def errors(group: str, resource: str, obj: dict[str, Any]) -> list[str]:
    return [str(e) for e in strategy_for(group, resource).validate_create(obj)]


def update(group: str, resource: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    return [str(e) for e in strategy_for(group, resource).validate_update(new, old)]


def cm(**meta: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", **meta}, "data": {"a": "b"}}


def test_name_or_generate_name_is_required() -> None:
    assert errors("", "configmaps", cm()) == [
        "metadata.name: Required value: name or generateName is required"
    ]
    assert errors("", "configmaps", cm(name="x", generateName="x-")) == []
    assert errors("", "configmaps", cm(generateName="x-")) == []


def test_generate_name_is_checked_as_a_prefix() -> None:
    [message] = errors("", "configmaps", cm(name="x", generateName="Bad-"))
    assert message.startswith('metadata.generateName: Invalid value: "Bad-": a lowercase RFC 1123')


def test_namespace_rules() -> None:
    missing = {"metadata": {"name": "x"}}
    assert errors("", "configmaps", missing) == ["metadata.namespace: Required value"]
    [bad] = errors("", "configmaps", cm(name="x", namespace="Bad"))
    assert bad.startswith('metadata.namespace: Invalid value: "Bad": a lowercase RFC 1123 label')
    cluster_scoped = {"metadata": {"name": "x", "namespace": "default"}}
    assert errors("", "nodes", cluster_scoped) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]


def test_unknown_kinds_get_subdomain_names_and_no_scope_check() -> None:
    assert errors("example.com", "widgets", {"metadata": {"name": "a.b"}}) == []
    [message] = errors("example.com", "widgets", {"metadata": {"name": "A"}})
    assert message.startswith('metadata.name: Invalid value: "A": a lowercase RFC 1123 subdomain')


def test_labels_and_annotations() -> None:
    [label] = errors("", "configmaps", cm(name="x", labels={"bad key": "v"}))
    assert label.startswith('metadata.labels: Invalid value: "bad key": name part must consist')
    [annotation] = errors("", "configmaps", cm(name="x", annotations={"a/b/c": "v"}))
    assert annotation.startswith(
        'metadata.annotations: Invalid value: "a/b/c": a qualified name must consist'
    )
    assert errors("", "configmaps", cm(name="x", annotations={"Example.COM/Key": "v"})) == []


def test_annotations_may_total_256_kib() -> None:
    fits = {"k": "v" * (262144 - 1)}
    assert errors("", "configmaps", cm(name="x", annotations=fits)) == []
    too_big = {"k": "v" * 262144}
    assert errors("", "configmaps", cm(name="x", annotations=too_big)) == [
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    ]


def test_finalizers() -> None:
    assert errors("", "configmaps", cm(name="x", finalizers=["example.com/cleanup"])) == []
    assert errors("", "configmaps", cm(name="x", finalizers=["orphan", "foregroundDeletion"])) == [
        'metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: '
        "finalizer orphan and foregroundDeletion cannot be both set"
    ]
    assert errors("", "configmaps", cm(name="x", finalizers=["custom"])) == [
        'metadata.finalizers: Invalid value: "custom": '
        "name is neither a standard finalizer name nor is it fully qualified"
    ]
    # A custom resource may use any qualified name.
    assert errors("example.com", "widgets", {"metadata": {"name": "w", "finalizers": ["x"]}}) == []


def test_owner_references() -> None:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1"}
    assert errors("", "configmaps", cm(name="x", ownerReferences=[ref])) == []
    assert errors("", "configmaps", cm(name="x", ownerReferences=[{"apiVersion": "apps/"}])) == [
        'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
        'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
        'metadata.ownerReferences.name: Invalid value: "": must not be empty',
        'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    ]
    two = [{**ref, "controller": True}, {**ref, "name": "rs2", "controller": True}]
    [message] = errors("", "configmaps", cm(name="x", ownerReferences=two))
    assert message.startswith("metadata.ownerReferences: Invalid value: [")
    assert message.endswith(
        'Only one reference can have Controller set to true. Found "true" in references for '
        "ReplicaSet/rs and ReplicaSet/rs2"
    )


def test_an_update_changing_only_labels_passes() -> None:
    old = cm(name="x", uid="u1", creationTimestamp="2024-01-01T00:00:00Z", resourceVersion="5")
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"tier": "web"}
    assert update("", "configmaps", new, old) == []


def test_identity_fields_are_immutable() -> None:
    old = cm(name="x", uid="u1", creationTimestamp="2024-01-01T00:00:00Z")
    new = copy.deepcopy(old)
    new["metadata"].update(name="y", uid="u2", creationTimestamp="2025-01-01T00:00:00Z")
    assert update("", "configmaps", new, old) == [
        'metadata.name: Invalid value: "y": field is immutable',
        'metadata.uid: Invalid value: "u2": field is immutable',
        'metadata.creationTimestamp: Invalid value: "2025-01-01T00:00:00Z": field is immutable',
    ]
    moved = copy.deepcopy(old)
    moved["metadata"]["namespace"] = "other"
    assert update("", "configmaps", moved, old) == [
        'metadata.namespace: Invalid value: "other": field is immutable'
    ]


def test_no_new_finalizers_while_deleting() -> None:
    old = cm(name="x", finalizers=["a.io/x"], deletionTimestamp="2024-01-01T00:00:00Z")
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["a.io/x", "b.io/y", "a.io/z"]
    assert update("", "configmaps", new, old) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        "deleted, found a.io/z, b.io/y"
    ]
    removed = copy.deepcopy(old)
    removed["metadata"]["finalizers"] = []
    assert update("", "configmaps", removed, old) == []


def test_generation_may_not_go_down() -> None:
    old = cm(name="x", generation=3)
    new = cm(name="x", generation=2)
    assert update("", "configmaps", new, old) == [
        "metadata.generation: Invalid value: 2: must not be decremented"
    ]


def test_an_update_leaving_out_server_set_fields_keeps_them() -> None:
    old = cm(name="x", uid="u1", creationTimestamp="2024-01-01T00:00:00Z", generation=4)
    new = cm(name="x", labels={"a": "b"})
    assert update("", "configmaps", new, old) == []
    assert new["metadata"]["uid"] == "u1"
    assert new["metadata"]["creationTimestamp"] == "2024-01-01T00:00:00Z"
    assert new["metadata"]["generation"] == 4


def test_a_deletion_timestamp_cannot_be_set_by_an_update() -> None:
    old = cm(name="x")
    new = cm(name="x", deletionTimestamp="2024-01-01T00:00:00Z")
    assert update("", "configmaps", new, old) == [
        'metadata.deletionTimestamp: Invalid value: "2024-01-01T00:00:00Z": field is immutable'
    ]

"""FieldsV1 sets: membership, union, difference, intersection, paths as Kubernetes prints them."""

from __future__ import annotations

from typing import Any

from corral.machinery.managedfields.fieldset import (
    all_members,
    difference,
    intersection,
    item_key,
    paths,
    recursive_difference,
    render_path,
    sort_set,
    union,
    valid_set,
    value_key,
)

LABELS: dict[str, Any] = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}
REPLICAS: dict[str, Any] = {"f:spec": {"f:replicas": {}}}


def test_keys_are_encoded_as_kubernetes_does() -> None:
    assert item_key({"protocol": "TCP", "containerPort": 80}) == (
        'k:{"containerPort":80,"protocol":"TCP"}'
    )
    assert value_key("a") == 'v:"a"'
    assert value_key(3) == "v:3"


def test_union_marks_a_node_member_and_parent() -> None:
    a: dict[str, Any] = {"f:metadata": {"f:labels": {}}}
    b: dict[str, Any] = {"f:metadata": {"f:labels": {"f:app": {}}}}
    assert union(a, b) == LABELS
    assert union(LABELS, REPLICAS) == {**LABELS, **REPLICAS}
    assert union({}, REPLICAS) is REPLICAS


def test_difference_is_member_wise() -> None:
    # Removing the labels map itself keeps its entries.
    assert difference(LABELS, {"f:metadata": {"f:labels": {}}}) == {
        "f:metadata": {"f:labels": {"f:app": {}}}
    }
    assert difference(LABELS, {"f:metadata": {"f:labels": {"f:app": {}}}}) == {
        "f:metadata": {"f:labels": {}}
    }
    assert difference(REPLICAS, REPLICAS) == {}
    assert difference(REPLICAS, LABELS) is REPLICAS  # nothing removed: same object


def test_recursive_difference_removes_subtrees() -> None:
    assert recursive_difference(LABELS, {"f:metadata": {"f:labels": {}}}) == {}
    assert recursive_difference({**LABELS, **REPLICAS}, {"f:spec": {}}) == LABELS


def test_intersection_keeps_common_members() -> None:
    both = union(LABELS, REPLICAS)
    assert intersection(both, REPLICAS) == REPLICAS
    assert intersection(LABELS, REPLICAS) == {}
    assert intersection(LABELS, {"f:metadata": {"f:labels": {"f:app": {}}}}) == {
        "f:metadata": {"f:labels": {"f:app": {}}}
    }


def test_paths_and_how_they_are_printed() -> None:
    s = {
        "f:spec": {
            "f:replicas": {},
            "f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}}},
            "f:tags": {'v:"a"': {}},
        }
    }
    printed = [render_path(p) for p in paths(s)]
    assert printed == [
        '.spec.containers[name="web"]',
        '.spec.containers[name="web"].image',
        ".spec.replicas",
        '.spec.tags[="a"]',
    ]


def test_all_members_and_sorting() -> None:
    assert all_members(REPLICAS) == {"f:spec": {".": {}, "f:replicas": {}}}
    assert list(sort_set({"f:b": {}, ".": {}, "f:a": {}})) == [".", "f:a", "f:b"]


def test_shape_check() -> None:
    assert valid_set(LABELS)
    assert not valid_set({"x:foo": {}})
    assert not valid_set({".": {"f:a": {}}})
    assert not valid_set([])

"""RBAC roles and bindings: path-segment names, rules, roleRef."""

from __future__ import annotations

import copy
from typing import Any

from corral.machinery.validation import strategy_for

RBAC = "rbac.authorization.k8s.io"


def create(resource: str, obj: dict[str, Any]) -> list[str]:
    strategy = strategy_for(RBAC, resource)
    strategy.default(obj)
    return [str(e) for e in strategy.validate_create(obj)]


def update(resource: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    strategy = strategy_for(RBAC, resource)
    strategy.default(new)
    return [str(e) for e in strategy.validate_update(new, old)]


def role(name: str = "reader", namespace: str | None = "default", **body: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta, **body}


RULE = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}


def test_names_are_path_segments() -> None:
    assert create("clusterroles", role("system:controller:x", None, rules=[RULE])) == []
    assert create("roles", role("a/b", rules=[RULE])) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"
    ]
    assert create("clusterroles", role("..", None)) == [
        "metadata.name: Invalid value: \"..\": may not be '..'"
    ]


def test_rules() -> None:
    rules = [
        {"apiGroups": [""], "resources": ["pods"]},
        {"verbs": ["get"]},
        {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
    ]
    assert create("roles", role(rules=rules)) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[1].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[1].resources: Required value: resource rules must supply at least one resource",
        'rules[2].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to '
        "non-resource URLs",
    ]
    assert create("clusterroles", role(namespace=None, rules=rules[2:])) == []


def binding(kind: str = "Role", namespace: str | None = "default", **body: Any) -> dict[str, Any]:
    return role(
        "bind",
        namespace,
        roleRef={"kind": kind, "name": "reader"},
        subjects=[{"kind": "User", "name": "alice"}],
        **body,
    )


def test_bindings() -> None:
    assert create("rolebindings", binding()) == []
    assert create("clusterrolebindings", binding("ClusterRole", None)) == []
    assert create("rolebindings", binding("Pod")) == [
        'roleRef.kind: Unsupported value: "Pod": supported values: "Role", "ClusterRole"'
    ]
    assert create("clusterrolebindings", binding("Role", None)) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"'
    ]
    subjects = [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "Robot", "name": "r2"}]
    obj = binding("ClusterRole", None)
    obj["subjects"] = subjects
    assert create("clusterrolebindings", obj) == [
        "subjects[0].namespace: Required value",
        'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", '
        '"User", "Group"',
    ]


def test_role_ref_cannot_change() -> None:
    old = binding()
    strategy_for(RBAC, "rolebindings").default(old)
    new = copy.deepcopy(old)
    new["roleRef"]["name"] = "admin"
    assert update("rolebindings", new, old) == [
        'roleRef: Invalid value: {"kind":"Role","name":"admin",'
        '"apiGroup":"rbac.authorization.k8s.io"}: cannot change roleRef'
    ]
    subjects_only = copy.deepcopy(old)
    subjects_only["subjects"].append({"kind": "Group", "name": "devs"})
    assert update("rolebindings", subjects_only, old) == []

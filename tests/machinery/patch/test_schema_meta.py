"""Strategic merge patch metadata from the Kubernetes 1.32 OpenAPI schemas, per kind."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from corral.machinery.openapi import GVK, builtin_definitions
from corral.machinery.openapi.definitions import ref_name
from corral.machinery.patch import (
    BUILTIN_PATCH_META,
    apply_strategic_merge_patch,
    create_two_way_patch,
)
from corral.machinery.patch.schema_meta import (
    PATCH_MERGE_KEY,
    PATCH_STRATEGY,
    SchemaPatchMeta,
    patch_meta_for,
)


def _ref(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    if ref is None and isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        ref = node["allOf"][0].get("$ref")
    return ref_name(ref) if isinstance(ref, str) else None


def tagged_fields(root: str) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """Every field with patch extensions reachable from `root`, with its path (no cycles)."""
    schemas = builtin_definitions().schemas

    def walk(name: str, path: tuple[str, ...], seen: frozenset[str]) -> Iterator[Any]:
        for prop, field in schemas[name].get("properties", {}).items():
            sub = (*path, prop)
            if PATCH_STRATEGY in field or PATCH_MERGE_KEY in field:
                yield sub, field
            inner = field.get("items", field) if field.get("type") == "array" else field
            if isinstance(inner.get("additionalProperties"), dict):
                continue  # map keys: not a named path
            target = _ref(inner)
            if target is not None and target not in seen:
                yield from walk(target, sub, seen | {target})

    yield from walk(root, (), frozenset({root}))


def builtin_kinds() -> list[tuple[GVK, str]]:
    return sorted(builtin_definitions().by_gvk.items())


def test_every_merge_list_of_every_builtin_kind_is_known() -> None:
    checked = 0
    kinds_with_lists = set()
    for gvk, root in builtin_kinds():
        meta = patch_meta_for({"apiVersion": gvk.group_version, "kind": gvk.kind})
        assert isinstance(meta, SchemaPatchMeta), gvk
        for path, field in tagged_fields(root):
            found = meta.lookup(path)
            assert found is not None, (gvk, path)
            strategies = set(field.get(PATCH_STRATEGY, "").split(",")) - {""}
            assert found.strategies == strategies, (gvk, path)
            assert found.merge_key == field.get(PATCH_MERGE_KEY), (gvk, path)
            checked += 1
            kinds_with_lists.add(gvk.kind)
    # every kind has metadata.finalizers and ownerReferences; pods, workloads, webhooks... more
    assert checked > 500
    assert {"Pod", "Deployment", "CronJob", "MutatingWebhookConfiguration", "CSINode"} <= (
        kinds_with_lists
    )


def test_list_element_kinds() -> None:
    pod = patch_meta_for({"apiVersion": "v1", "kind": "Pod"})
    finalizers = pod.lookup(("metadata", "finalizers"))
    assert finalizers is not None
    assert finalizers.list_kind == "primitive"
    assert finalizers.merge
    env = pod.lookup(("spec", "initContainers", "env"))
    assert env is not None
    assert (env.list_kind, env.merge_key) == ("map", "name")
    volumes = pod.lookup(("spec", "volumes"))
    assert volumes is not None
    assert volumes.merge
    assert volumes.retain_keys
    assert pod.lookup(("spec", "tolerations")) is None  # no tag upstream: replaced whole
    assert pod.lookup(("spec", "nosuchfield", "env")) is None
    assert pod.lookup(()) is None


@pytest.mark.parametrize(
    ("api_version", "kind", "prefix"),
    [
        ("v1", "Pod", ("spec",)),
        ("v1", "PodTemplate", ("template", "spec")),
        ("apps/v1", "Deployment", ("spec", "template", "spec")),
        ("apps/v1", "StatefulSet", ("spec", "template", "spec")),
        ("batch/v1", "CronJob", ("spec", "jobTemplate", "spec", "template", "spec")),
    ],
)
def test_the_hand_table_agrees_with_the_schemas(
    api_version: str, kind: str, prefix: tuple[str, ...]
) -> None:
    meta = patch_meta_for({"apiVersion": api_version, "kind": kind})
    for field in ("containers", "volumes", "imagePullSecrets", "hostAliases"):
        table = BUILTIN_PATCH_META.lookup((*prefix, field))
        schema = meta.lookup((*prefix, field))
        assert table is not None
        assert schema is not None
        assert (table.strategies, table.merge_key) == (schema.strategies, schema.merge_key)
    for field in ("env", "ports", "volumeMounts"):
        path = (*prefix, "containers", field)
        table, schema = BUILTIN_PATCH_META.lookup(path), meta.lookup(path)
        assert table is not None
        assert schema is not None
        assert (table.strategies, table.merge_key) == (schema.strategies, schema.merge_key)


def test_unknown_kinds_and_kindless_documents_use_the_table() -> None:
    assert patch_meta_for({}) is BUILTIN_PATCH_META
    assert patch_meta_for({"apiVersion": "example.com/v1", "kind": "Widget"}) is BUILTIN_PATCH_META
    assert patch_meta_for({"apiVersion": 3, "kind": None}) is BUILTIN_PATCH_META


# --- behaviour the hand table did not have --------------------------------------------------


def test_pod_disruption_budget_selector_is_replaced_not_merged() -> None:
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a", "tier": "web"}}},
    }
    result = apply_strategic_merge_patch(pdb, {"spec": {"selector": {"matchLabels": {"x": "y"}}}})
    assert result["spec"]["selector"] == {"matchLabels": {"x": "y"}}
    # the same patch on a Deployment's selector merges (no strategy there)
    deployment = {**pdb, "apiVersion": "apps/v1", "kind": "Deployment"}
    merged = apply_strategic_merge_patch(deployment, {"spec": {"selector": {"matchLabels": {}}}})
    assert merged["spec"]["selector"]["matchLabels"] == {"app": "a", "tier": "web"}


def test_webhooks_merge_by_name() -> None:
    config = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "w"},
        "webhooks": [
            {"name": "a.example.com", "sideEffects": "None", "timeoutSeconds": 5},
            {"name": "b.example.com", "sideEffects": "None"},
        ],
    }
    patch = {
        "webhooks": [
            {"name": "a.example.com", "timeoutSeconds": 10},
            {"name": "b.example.com", "$patch": "delete"},
            {"name": "c.example.com", "sideEffects": "None"},
        ]
    }
    result = apply_strategic_merge_patch(config, patch)
    assert result["webhooks"] == [
        {"name": "a.example.com", "sideEffects": "None", "timeoutSeconds": 10},
        {"name": "c.example.com", "sideEffects": "None"},
    ]


def test_csinode_drivers_and_node_pod_cidrs() -> None:
    csinode = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSINode",
        "spec": {"drivers": [{"name": "d1", "nodeID": "n1"}]},
    }
    result = apply_strategic_merge_patch(
        csinode, {"spec": {"drivers": [{"name": "d2", "nodeID": "n1"}]}}
    )
    assert [d["name"] for d in result["spec"]["drivers"]] == ["d1", "d2"]
    node = {"apiVersion": "v1", "kind": "Node", "spec": {"podCIDRs": ["10.0.0.0/24"]}}
    result = apply_strategic_merge_patch(
        node,
        {"spec": {"podCIDRs": ["fd00::/64"], "$deleteFromPrimitiveList/podCIDRs": ["10.0.0.0/24"]}},
    )
    assert result["spec"]["podCIDRs"] == ["fd00::/64"]


def test_two_way_patch_uses_the_kind_of_the_objects() -> None:
    before = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "webhooks": [{"name": "a", "timeoutSeconds": 5}, {"name": "b"}],
    }
    after = {**before, "webhooks": [{"name": "b"}, {"name": "a", "timeoutSeconds": 7}]}
    patch = create_two_way_patch(before, after)
    assert patch == {
        "webhooks": [{"name": "a", "timeoutSeconds": 7}],
        "$setElementOrder/webhooks": [{"name": "b"}, {"name": "a"}],
    }
    assert apply_strategic_merge_patch(before, patch) == after

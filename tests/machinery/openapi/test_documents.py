"""The ``/openapi/v3`` and ``/openapi/v2`` documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from corral.machinery.openapi import (
    GVK,
    OpenAPIPublisher,
    ServedResource,
    Subresource,
    definition_name,
    scale,
)
from corral.machinery.openapi.resources import status_of

CORE = [
    ("", "v1", "Namespace", "namespaces", False),
    ("", "v1", "ConfigMap", "configmaps", True),
    ("", "v1", "Secret", "secrets", True),
    ("", "v1", "Pod", "pods", True),
    ("", "v1", "Node", "nodes", False),
    ("", "v1", "Service", "services", True),
    ("apps", "v1", "Deployment", "deployments", True),
    ("batch", "v1", "Job", "jobs", True),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ("coordination.k8s.io", "v1", "Lease", "leases", True),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
]
WIDGET = GVK("example.com", "v1", "Widget")


def _resources() -> list[ServedResource]:
    out = []
    for group, version, kind, plural, namespaced in CORE:
        subs: tuple[Subresource, ...] = ()
        base = ServedResource(group, version, kind, plural, namespaced)
        if kind in ("Pod", "Deployment", "Job", "Node"):
            subs = (status_of(base),)
        if kind == "Deployment":
            subs = (*subs, scale())
        out.append(ServedResource(group, version, kind, plural, namespaced, subresources=subs))
    widget = ServedResource(
        "example.com", "v1", "Widget", "widgets", True, strategic_merge_patch=False
    )
    out.append(widget)
    return out


WIDGET_SCHEMA = {
    "type": "object",
    "properties": {"spec": {"type": "object", "properties": {"size": {"type": "string"}}}},
}


@pytest.fixture(scope="module")
def publisher() -> OpenAPIPublisher:
    pub = OpenAPIPublisher()
    pub.update(_resources(), {WIDGET: WIDGET_SCHEMA})
    return pub


def _load(body: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(body)
    return doc


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_index_lists_every_group_version(publisher: OpenAPIPublisher) -> None:
    index = _load(publisher.v3_index().body)
    expected = {
        "api/v1",
        "apis/apps/v1",
        "apis/batch/v1",
        "apis/rbac.authorization.k8s.io/v1",
        "apis/coordination.k8s.io/v1",
        "apis/apiextensions.k8s.io/v1",
        "apis/example.com/v1",
    }
    assert set(index["paths"]) == expected
    for path, entry in index["paths"].items():
        doc = publisher.v3_document(path)
        assert doc is not None
        assert entry["serverRelativeURL"] == f"/openapi/v3/{path}?hash={doc.etag}"


def test_operations_carry_gvk_action_and_write_params(publisher: OpenAPIPublisher) -> None:
    for path in publisher.v3_paths():
        doc = publisher.v3_document(path)
        assert doc is not None
        spec = _load(doc.body)
        for item in spec["paths"].values():
            for method, op in item.items():
                assert "x-kubernetes-group-version-kind" in op
                assert "x-kubernetes-action" in op
                names = {p["name"] for p in op["parameters"]}
                if method in ("post", "put", "patch"):
                    assert {"fieldValidation", "dryRun", "fieldManager"} <= names


def test_paths_for_namespaced_and_cluster_scoped(publisher: OpenAPIPublisher) -> None:
    core = _load(publisher.v3_document("api/v1").body)  # type: ignore[union-attr]
    paths = core["paths"]
    assert set(paths["/api/v1/namespaces/{namespace}/configmaps"]) == {"get", "post", "delete"}
    assert set(paths["/api/v1/namespaces/{namespace}/configmaps/{name}"]) == {
        "get",
        "put",
        "patch",
        "delete",
    }
    assert "/api/v1/configmaps" in paths
    assert "/api/v1/nodes/{name}" in paths
    assert "/api/v1/nodes/{name}/status" in paths
    assert "/api/v1/watch/namespaces/{namespace}/pods" in paths
    patch = paths["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    assert set(patch["requestBody"]["content"]) == {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    }
    create = paths["/api/v1/namespaces/{namespace}/pods"]["post"]
    assert set(create["requestBody"]["content"]) == {"application/json", "application/yaml"}
    assert create["x-kubernetes-action"] == "post"
    apps = _load(publisher.v3_document("apis/apps/v1").body)  # type: ignore[union-attr]
    scale_op = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["put"]
    assert scale_op["x-kubernetes-group-version-kind"]["kind"] == "Scale"


def test_refs_resolve_within_each_document(publisher: OpenAPIPublisher) -> None:
    for path in publisher.v3_paths():
        spec = _load(publisher.v3_document(path).body)  # type: ignore[union-attr]
        schemas = spec["components"]["schemas"]
        for ref in _refs(spec):
            assert ref.startswith("#/components/schemas/")
            assert ref.removeprefix("#/components/schemas/") in schemas, (path, ref)


def test_crd_schema_is_published(publisher: OpenAPIPublisher) -> None:
    spec = _load(publisher.v3_document("apis/example.com/v1").body)  # type: ignore[union-attr]
    widget = spec["components"]["schemas"][definition_name(WIDGET)]
    assert widget["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}
    ]
    assert "com.example.v1.WidgetList" in spec["components"]["schemas"]
    patch = spec["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]


def test_v2_document(publisher: OpenAPIPublisher) -> None:
    spec = _load(publisher.v2().body)
    assert spec["swagger"] == "2.0"
    definitions = spec["definitions"]
    for ref in _refs(spec):
        assert ref.removeprefix("#/definitions/") in definitions
    quantity = definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"]
    assert quantity["type"] == "string"
    assert "oneOf" not in quantity
    int_or_string = definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string == {**int_or_string, "type": "string", "format": "int-or-string"}
    op = spec["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    assert {p["name"] for p in op["parameters"]} >= {"body", "fieldValidation", "dryRun"}
    assert op["x-kubernetes-group-version-kind"]["kind"] == "Deployment"


def test_etags_are_stable_and_follow_changes() -> None:
    first, second = OpenAPIPublisher(), OpenAPIPublisher()
    first.update(_resources(), {WIDGET: WIDGET_SCHEMA})
    second.update(_resources(), {WIDGET: WIDGET_SCHEMA})
    assert first.v3_index().etag == second.v3_index().etag
    assert first.v2().etag == second.v2().etag
    before = first.v3_document("apis/example.com/v1")
    changed = {"type": "object", "properties": {"spec": {"type": "object"}}}
    first.update(_resources(), {WIDGET: changed})
    after = first.v3_document("apis/example.com/v1")
    assert before is not None
    assert after is not None
    assert before.etag != after.etag
    assert first.v3_document("api/v1").etag == second.v3_document("api/v1").etag  # type: ignore[union-attr]

"""Server-side apply and managedFields through the API (in-process, memory backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inprocess import InProcessAPI, inprocess_api

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
APPLY = {"Content-Type": "application/apply-patch+yaml"}
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
async def api() -> AsyncIterator[InProcessAPI]:
    async with inprocess_api() as api:
        yield api


def deployment(replicas: int = 2, image: str = "nginx:1.27", **extra: Any) -> dict[str, Any]:
    labels = {"app": "web"}
    container: dict[str, Any] = {"name": "web", "image": image, **extra}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


async def apply(
    api: InProcessAPI, url: str, body: dict[str, Any], manager: str = "ci", **params: str
) -> httpx.Response:
    query = {"fieldManager": manager, **params}
    return await api.http.patch(url, json=body, headers=APPLY, params=query)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}


async def test_apply_creates_then_updates_and_records_the_applier(api: InProcessAPI) -> None:
    created = await apply(api, f"{DEPLOYMENTS}/web", deployment())
    assert created.status_code == 201, created.text
    obj = created.json()
    assert obj["spec"]["replicas"] == 2
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "ci"
    assert entry["operation"] == "Apply"
    assert entry["apiVersion"] == "apps/v1"
    assert entry["fieldsType"] == "FieldsV1"
    fields = entry["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    assert fields["f:spec"]["f:selector"] == {}  # LabelSelector is an atomic map
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert container == {".": {}, "f:image": {}, "f:name": {}}
    # Defaults are not the applier's.
    assert "f:strategy" not in fields["f:spec"]

    again = await apply(api, f"{DEPLOYMENTS}/web", deployment(replicas=3))
    assert again.status_code == 200, again.text
    assert again.json()["spec"]["replicas"] == 3


async def test_apply_requires_a_field_manager(api: InProcessAPI) -> None:
    refused = await api.http.patch(f"{DEPLOYMENTS}/web", json=deployment(), headers=APPLY)
    assert refused.status_code == 422
    status = refused.json()
    assert status["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
        "is required for apply patch"
    )


async def test_a_conflict_names_the_manager_and_field_and_force_takes_it(
    api: InProcessAPI,
) -> None:
    await apply(api, f"{DEPLOYMENTS}/web", deployment())
    scaled = await api.http.patch(
        f"{DEPLOYMENTS}/web",
        json={"spec": {"replicas": 5}},
        headers=MERGE,
        params={"fieldManager": "kubectl-edit"},
    )
    assert scaled.status_code == 200, scaled.text
    owners = entries(scaled.json())
    assert owners[("kubectl-edit", "Update")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in owners[("ci", "Apply")]["fieldsV1"]["f:spec"]

    conflict = await apply(api, f"{DEPLOYMENTS}/web", deployment(replicas=2))
    assert conflict.status_code == 409
    status = conflict.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-edit" using apps/v1',
            "field": ".spec.replicas",
        }
    ]

    forced = await apply(api, f"{DEPLOYMENTS}/web", deployment(replicas=2), force="true")
    assert forced.status_code == 200, forced.text
    assert forced.json()["spec"]["replicas"] == 2
    owners = entries(forced.json())
    assert ("kubectl-edit", "Update") not in owners
    assert "f:replicas" in owners[("ci", "Apply")]["fieldsV1"]["f:spec"]


async def test_applying_the_same_value_shares_a_field(api: InProcessAPI) -> None:
    await apply(api, f"{DEPLOYMENTS}/web", deployment())
    shared = await apply(api, f"{DEPLOYMENTS}/web", deployment(), manager="other")
    assert shared.status_code == 200, shared.text
    owners = entries(shared.json())
    assert "f:replicas" in owners[("ci", "Apply")]["fieldsV1"]["f:spec"]
    assert "f:replicas" in owners[("other", "Apply")]["fieldsV1"]["f:spec"]
    changed = await apply(api, f"{DEPLOYMENTS}/web", deployment(replicas=4), manager="other")
    assert changed.status_code == 409
    assert 'conflict with "ci"' in changed.json()["message"]


async def test_a_field_dropped_from_the_configuration_is_removed_unless_owned(
    api: InProcessAPI,
) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}},
        "data": {"x": "1", "y": "2"},
    }
    assert (await apply(api, f"{CONFIGMAPS}/c", cm)).status_code == 201
    # Someone else takes data.y (by changing it).
    edited = await api.http.patch(
        f"{CONFIGMAPS}/c",
        json={"data": {"y": "3"}},
        headers=MERGE,
        params={"fieldManager": "editor"},
    )
    assert edited.status_code == 200
    smaller = {**cm, "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"x": "1"}}
    done = await apply(api, f"{CONFIGMAPS}/c", smaller)
    assert done.status_code == 200, done.text
    obj = done.json()
    assert obj["metadata"]["labels"] == {"a": "1"}  # b: only the applier had it
    assert obj["data"] == {"x": "1", "y": "3"}  # y: the editor owns it, it stays
    owners = entries(obj)
    assert owners[("ci", "Apply")]["fieldsV1"] == {
        "f:data": {"f:x": {}},
        "f:metadata": {"f:labels": {"f:a": {}}},
    }
    assert owners[("editor", "Update")]["fieldsV1"] == {"f:data": {"f:y": {}}}


async def test_every_write_records_its_manager(api: InProcessAPI) -> None:
    cm = {"metadata": {"name": "m", "labels": {"a": "1"}}, "data": {"k": "v"}}
    created = await api.http.post(CONFIGMAPS, json=cm, headers={"User-Agent": "tool/1.0 (x)"})
    assert created.status_code == 201
    [entry] = created.json()["metadata"]["managedFields"]
    assert entry["manager"] == "tool"
    assert entry["operation"] == "Update"
    assert entry["time"].endswith("Z")
    assert len(entry["time"]) == 20
    assert entry["fieldsV1"] == {
        "f:data": {".": {}, "f:k": {}},
        "f:metadata": {"f:labels": {".": {}, "f:a": {}}},
    }
    body = created.json()
    body["data"] = {"k": "v", "z": "new"}
    del body["metadata"]["managedFields"]  # a client unaware of them keeps them
    put = await api.http.put(f"{CONFIGMAPS}/m", json=body, params={"fieldManager": "putter"})
    owners = entries(put.json())
    assert owners[("putter", "Update")]["fieldsV1"] == {"f:data": {"f:z": {}}}
    assert owners[("tool", "Update")]["fieldsV1"]["f:data"] == {".": {}, "f:k": {}}

    reset = await api.http.patch(
        f"{CONFIGMAPS}/m", json={"metadata": {"managedFields": []}}, headers=MERGE
    )
    assert reset.status_code == 200
    assert "managedFields" not in reset.json()["metadata"]


async def test_unknown_fields_in_a_configuration_are_refused(api: InProcessAPI) -> None:
    body = deployment()
    body["spec"]["bogus"] = 1
    refused = await apply(api, f"{DEPLOYMENTS}/web", body)
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): "
        ".spec.bogus: field not declared in schema"
    )


async def test_dry_run_apply_stores_nothing(api: InProcessAPI) -> None:
    done = await apply(api, f"{DEPLOYMENTS}/web", deployment(), dryRun="All")
    assert done.status_code == 201, done.text
    assert done.json()["metadata"]["managedFields"][0]["manager"] == "ci"
    assert (await api.http.get(f"{DEPLOYMENTS}/web")).status_code == 404


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GADGETS = "/apis/example.com/v1/namespaces/default/gadgets"

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "kind": "Gadget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "tags": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "x-kubernetes-list-type": "set",
                                    },
                                    "ports": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["name"],
                                        "items": {
                                            "type": "object",
                                            "required": ["name"],
                                            "properties": {
                                                "name": {"type": "string"},
                                                "port": {"type": "integer"},
                                            },
                                        },
                                    },
                                    "args": {"type": "array", "items": {"type": "string"}},
                                    "selector": {
                                        "type": "object",
                                        "x-kubernetes-map-type": "atomic",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "extra": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {"phase": {"type": "string"}},
                            },
                        },
                    }
                },
            }
        ],
    },
}


def gadget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": spec,
    }


async def test_custom_resources_merge_by_their_schema(api: InProcessAPI) -> None:
    assert (await api.http.post(CRDS, json=GADGET_CRD)).status_code == 201
    first = gadget(
        tags=["a"],
        ports=[{"name": "http", "port": 80}],
        args=["x"],
        selector={"k": "v"},
        extra={"deep": {"x": 1}},
    )
    created = await apply(api, f"{GADGETS}/g", first, manager="one")
    assert created.status_code == 201, created.text
    fields = created.json()["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    assert fields["f:tags"] == {'v:"a"': {}}
    assert fields["f:ports"] == {'k:{"name":"http"}': {".": {}, "f:name": {}, "f:port": {}}}
    assert fields["f:args"] == {}  # no list type: atomic
    assert fields["f:selector"] == {}  # atomic map
    assert fields["f:extra"] == {}  # unschematized: atomic

    second = gadget(
        tags=["b"],
        ports=[{"name": "https", "port": 443}],
        args=["y"],
        selector={"other": "1"},
    )
    merged = await apply(api, f"{GADGETS}/g", second, manager="two")
    assert merged.status_code == 409  # args and selector are atomic: "one" owns them
    causes = {c["field"] for c in merged.json()["details"]["causes"]}
    assert causes == {".spec.args", ".spec.selector"}

    forced = await apply(api, f"{GADGETS}/g", second, manager="two", force="true")
    assert forced.status_code == 200, forced.text
    spec = forced.json()["spec"]
    assert spec["tags"] == ["a", "b"]  # sets and map lists merge item by item
    assert spec["ports"] == [{"name": "http", "port": 80}, {"name": "https", "port": 443}]
    assert spec["args"] == ["y"]
    assert spec["selector"] == {"other": "1"}


async def test_apply_to_the_status_subresource(api: InProcessAPI) -> None:
    assert (await api.http.post(CRDS, json=GADGET_CRD)).status_code == 201
    assert (await apply(api, f"{GADGETS}/g", gadget(tags=["a"]))).status_code == 201
    missing = await apply(api, f"{GADGETS}/nope/status", {**gadget(), "metadata": {"name": "nope"}})
    assert missing.status_code == 404
    body = {**gadget(), "status": {"phase": "Ready"}}
    del body["spec"]
    done = await apply(api, f"{GADGETS}/g/status", body, manager="controller")
    assert done.status_code == 200, done.text
    obj = done.json()
    assert obj["status"] == {"phase": "Ready"}
    assert obj["spec"] == {"tags": ["a"]}
    owners = entries(obj)
    status_entry = owners[("controller", "Apply")]
    assert status_entry["subresource"] == "status"
    assert status_entry["fieldsV1"] == {"f:status": {"f:phase": {}}}


async def test_apply_options_are_checked_as_kubernetes_does(api: InProcessAPI) -> None:
    created = await apply(api, f"{DEPLOYMENTS}/web", deployment())
    forced_merge = await api.http.patch(
        f"{DEPLOYMENTS}/web",
        json={"spec": {"replicas": 1}},
        headers=MERGE,
        params={"force": "true"},
    )
    assert forced_merge.status_code == 422
    assert (
        "force: Forbidden: may not be specified for non-apply patch"
        in (forced_merge.json()["message"])
    )
    stale = deployment(replicas=7)
    stale["metadata"]["resourceVersion"] = "1"
    refused = await apply(api, f"{DEPLOYMENTS}/web", stale)
    assert refused.status_code == 409
    assert "the object has been modified" in refused.json()["message"]
    current = deployment(replicas=7)
    current["metadata"]["resourceVersion"] = created.json()["metadata"]["resourceVersion"]
    assert (await apply(api, f"{DEPLOYMENTS}/web", current)).status_code == 200
    dry = await apply(api, f"{DEPLOYMENTS}/web", deployment(replicas=9), dryRun="All")
    assert dry.status_code == 200
    assert dry.json()["spec"]["replicas"] == 9
    stored = (await api.http.get(f"{DEPLOYMENTS}/web")).json()
    assert stored["spec"]["replicas"] == 7
    yaml_body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n"
    from_yaml = await api.http.patch(
        f"{CONFIGMAPS}/y", content=yaml_body, headers=APPLY, params={"fieldManager": "y"}
    )
    assert from_yaml.status_code == 201, from_yaml.text
    assert from_yaml.json()["data"] == {"k": "v"}
    no_kind = await api.http.patch(
        f"{CONFIGMAPS}/y",
        content="metadata: {name: y}\n",
        headers=APPLY,
        params={"fieldManager": "y"},
    )
    assert no_kind.status_code == 400


async def test_status_and_scale_writes_are_recorded_with_their_subresource(
    api: InProcessAPI,
) -> None:
    created = (await apply(api, f"{DEPLOYMENTS}/web", deployment())).json()
    status = {**created, "status": {"replicas": 1, "observedGeneration": 1}}
    put = await api.http.put(
        f"{DEPLOYMENTS}/web/status", json=status, headers={"User-Agent": "controller/1"}
    )
    assert put.status_code == 200, put.text
    scaled = await api.http.patch(
        f"{DEPLOYMENTS}/web/scale",
        json={"spec": {"replicas": 6}},
        headers=MERGE,
        params={"fieldManager": "scaler"},
    )
    assert scaled.status_code == 200, scaled.text
    obj = (await api.http.get(f"{DEPLOYMENTS}/web")).json()
    by_sub = {(e["manager"], e.get("subresource", "")): e for e in obj["metadata"]["managedFields"]}
    assert by_sub[("controller", "status")]["fieldsV1"] == {
        "f:status": {"f:observedGeneration": {}, "f:replicas": {}}
    }
    assert by_sub[("scaler", "scale")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in by_sub[("ci", "")]["fieldsV1"]["f:spec"]

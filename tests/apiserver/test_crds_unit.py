"""The CRD modules' decisions: names, resource types, conflicts, status, defaults,
and the controller on its own against the memory backend (no HTTP)."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from corral.apiserver.crds import CRDController, wait_until_served
from corral.apiserver.crds.defaults import apply_defaults
from corral.apiserver.crds.status import desired_status, find_conflict
from corral.apiserver.crds.types import accepted_names, has_validation_rules, resource_types
from corral.apiserver.registry import Registry, version_priority
from corral.apiserver.store import create_object, get_object
from corral.apiserver.watchcache import WatchCaches
from corral.storage import MemoryBackend

CRD: dict[str, Any] = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.r"}},
                "schema": {"openAPIV3Schema": {"type": "object"}},
            },
            {"name": "v1beta1", "served": True, "storage": False},
            {"name": "v1alpha1", "served": False, "storage": False},
        ],
    },
}


def test_names_and_resource_types() -> None:
    names = accepted_names(CRD)
    assert names["singular"] == "widget"
    assert names["listKind"] == "WidgetList"
    types = resource_types(CRD, names)
    assert [(t.version, t.conversion is None) for t in types] == [("v1", True), ("v1beta1", False)]
    assert types[0].subresources == ("scale", "status")
    assert types[0].storage_prefix == types[1].storage_prefix == "/registry/example.com/widgets/"
    assert types[1].custom is not None
    assert types[1].custom.schema == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    assert types[0].list_kind == "WidgetList"


def test_conflicts_with_builtin_kinds() -> None:
    builtin = Registry.builtin().types()
    assert find_conflict(CRD, accepted_names(CRD), builtin) is None
    clash = copy.deepcopy(CRD)
    clash["spec"]["group"] = "apps"
    clash["spec"]["names"] = {"plural": "deployments", "kind": "Deployment"}
    assert find_conflict(clash, accepted_names(clash), builtin) == (
        "PluralConflict",
        '"deployments" is already in use',
    )
    short = copy.deepcopy(clash)
    short["spec"]["names"] = {"plural": "things", "kind": "Thing", "shortNames": ["deploy"]}
    conflict = find_conflict(short, accepted_names(short), builtin)
    assert conflict is not None
    assert conflict[0] == "ShortNamesConflict"


def test_status_is_stable() -> None:
    status = desired_status(CRD, None, False)
    assert status["storedVersions"] == ["v1"]
    again = desired_status({**CRD, "status": status}, None, False)
    assert again == status
    refused = desired_status(CRD, ("KindConflict", "x"), False)
    kinds = {c["type"]: (c["status"], c["reason"]) for c in refused["conditions"]}
    assert kinds == {
        "NamesAccepted": ("False", "KindConflict"),
        "Established": ("False", "NotAccepted"),
    }
    ending = desired_status({**CRD, "status": status}, None, True)
    assert ending["conditions"][-1]["type"] == "Terminating"


def test_defaults_are_applied_top_down() -> None:
    value: dict[str, Any] = {"a": {}, "n": None}
    apply_defaults(
        value,
        {
            "properties": {
                "a": {"properties": {"b": {"type": "string", "default": "x"}}},
                "c": {"default": {"d": 1}, "properties": {"e": {"default": 2}}},
                "n": {"default": 5},
                "l": {"items": {"properties": {"z": {"default": 0}}}},
            }
        },
    )
    assert value == {"a": {"b": "x"}, "c": {"d": 1, "e": 2}, "n": 5}
    listed: dict[str, Any] = {"l": [{}, {"z": 3}]}
    apply_defaults(listed, {"properties": {"l": {"items": {"properties": {"z": {"default": 0}}}}}})
    assert listed == {"l": [{"z": 0}, {"z": 3}]}


def test_validation_rules_are_found() -> None:
    assert has_validation_rules({"properties": {"x": {"x-kubernetes-validations": [{}]}}})
    assert not has_validation_rules(CRD)


def test_version_priority() -> None:
    versions = ["v1alpha1", "foo", "v2", "v1beta1", "v1", "v1beta2", "v10"]
    assert sorted(versions, key=version_priority) == [
        "v10",
        "v2",
        "v1",
        "v1beta2",
        "v1beta1",
        "v1alpha1",
        "foo",
    ]


async def test_the_controller_against_the_memory_backend() -> None:
    backend = MemoryBackend()
    await backend.start()
    registry = Registry.builtin()
    caches = WatchCaches(backend, registry.storage_prefixes())
    caches.start()
    changes: list[int] = []
    controller = CRDController(backend, registry, caches, lambda: changes.append(1))
    controller.start()
    try:
        await asyncio.wait_for(controller.synced.wait(), 5)
        crd_rt = registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_rt is not None
        await create_object(backend, crd_rt, "", copy.deepcopy(CRD), dry_run=False)
        await asyncio.wait_for(wait_until_served(registry, "widgets.example.com"), 5)
        assert registry.lookup("example.com", "v1beta1", "widgets") is not None
        assert "/registry/example.com/widgets/" in caches
        assert changes
        deadline = time.monotonic() + 5
        while True:
            stored = await get_object(backend, crd_rt, "", "widgets.example.com")
            if stored.obj.get("status", {}).get("conditions"):
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert stored.obj["status"]["acceptedNames"]["kind"] == "Widget"
    finally:
        await controller.stop()
        await caches.stop()
        await backend.close()

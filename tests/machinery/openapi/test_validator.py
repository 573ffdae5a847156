"""Validation of built-in kinds against the shipped Kubernetes 1.32 schemas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from corral.machinery.openapi import GVK, builtin_definitions, validate
from corral.machinery.openapi.quantity import FORMAT_WRONG
from corral.machinery.status import CauseType

MANIFESTS = Path(__file__).parent / "manifests"


def _documents() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out.append((f"{path.name}:{doc['kind']}", doc))
    return out


def _gvk(obj: dict[str, Any]) -> GVK:
    group, _, version = obj["apiVersion"].rpartition("/")
    return GVK(group, version, obj["kind"])


DOCUMENTS = _documents()


def test_corpus_is_broad() -> None:
    assert len(DOCUMENTS) >= 15


@pytest.mark.parametrize(("name", "obj"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_real_world_manifest_validates(name: str, obj: dict[str, Any]) -> None:
    result = validate(obj, _gvk(obj))
    assert result.errors == []
    assert result.unknown_fields == []


def _deployment() -> dict[str, Any]:
    return copy.deepcopy(next(o for n, o in DOCUMENTS if n.startswith("deployment.yaml")))


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return container


DEPLOYMENT = GVK("apps", "v1", "Deployment")
C0 = "spec.template.spec.containers[0]"


def test_wrong_type_of_replicas() -> None:
    obj = _deployment()
    obj["spec"]["replicas"] = "three"
    [error] = validate(obj, DEPLOYMENT).errors
    assert error.type is CauseType.TYPE_INVALID
    assert str(error) == (
        'spec.replicas: Invalid value: "string": '
        'spec.replicas in body must be of type integer: "string"'
    )


def test_unknown_field_in_a_container_is_reported_apart() -> None:
    obj = _deployment()
    _container(obj)["imagePullPolicyy"] = "Always"
    result = validate(obj, DEPLOYMENT)
    assert result.errors == []
    assert result.unknown_fields == [f"{C0}.imagePullPolicyy"]


def test_prune_drops_unknown_fields() -> None:
    obj = _deployment()
    obj["spec"]["foo"] = 1
    _container(obj)["bar"] = {"x": 1}
    result = validate(obj, DEPLOYMENT, prune=True)
    assert sorted(result.unknown_fields) == sorted(["spec.foo", f"{C0}.bar"])
    assert "foo" not in obj["spec"]
    assert "bar" not in _container(obj)
    assert validate(obj, DEPLOYMENT).unknown_fields == []


def test_bad_quantity() -> None:
    obj = _deployment()
    _container(obj)["resources"]["limits"]["memory"] = "12 apples"
    [error] = validate(obj, DEPLOYMENT).errors
    assert error.field == f"{C0}.resources.limits[memory]"
    assert error.detail == FORMAT_WRONG
    assert FORMAT_WRONG == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


@pytest.mark.parametrize("value", [1, 0.5, "500m", "512Mi", "1e3", "+1.5Gi", "2E"])
def test_good_quantities(value: object) -> None:
    obj = _deployment()
    _container(obj)["resources"]["requests"]["cpu"] = value
    assert validate(obj, DEPLOYMENT).errors == []


@pytest.mark.parametrize("value", ["", "1 Gi", "1.2.3", "1Zi", True, [1]])
def test_bad_quantities(value: object) -> None:
    obj = _deployment()
    _container(obj)["resources"]["requests"]["cpu"] = value
    assert len(validate(obj, DEPLOYMENT).errors) == 1


def test_missing_container_name() -> None:
    obj = _deployment()
    del _container(obj)["name"]
    [error] = validate(obj, DEPLOYMENT).errors
    assert str(error) == f"{C0}.name: Required value"


@pytest.mark.parametrize("port", [8080, "http"])
def test_int_or_string(port: object) -> None:
    service = copy.deepcopy(next(o for n, o in DOCUMENTS if n.startswith("service.yaml")))
    service["spec"]["ports"][0]["targetPort"] = port
    assert validate(service, GVK("", "v1", "Service")).errors == []


def test_int_or_string_rejects_other_types() -> None:
    service = copy.deepcopy(next(o for n, o in DOCUMENTS if n.startswith("service.yaml")))
    service["spec"]["ports"][0]["targetPort"] = True
    [error] = validate(service, GVK("", "v1", "Service")).errors
    assert error.field == "spec.ports[0].targetPort"


def test_maps_check_their_values_and_null_is_absent_for_built_ins() -> None:
    obj = _deployment()
    obj["metadata"]["labels"]["n"] = 5
    obj["spec"]["paused"] = None
    [error] = validate(obj, DEPLOYMENT).errors
    assert error.field == "metadata.labels[n]"


def test_boolean_number_and_array_types() -> None:
    obj = _deployment()
    obj["spec"]["paused"] = "yes"
    _container(obj)["args"] = "--port=8080"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 80.5
    fields = sorted(e.field for e in validate(obj, DEPLOYMENT).errors)
    assert fields == sorted(["spec.paused", f"{C0}.args", f"{C0}.ports[0].containerPort"])


def test_every_served_kind_has_a_schema() -> None:
    defs = builtin_definitions()
    for gvk in [
        GVK("", "v1", "Pod"),
        GVK("apps", "v1", "ControllerRevision"),
        GVK("events.k8s.io", "v1", "Event"),
        GVK("discovery.k8s.io", "v1", "EndpointSlice"),
        GVK("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        GVK("autoscaling", "v1", "Scale"),
    ]:
        assert defs.for_gvk(gvk)["x-kubernetes-group-version-kind"]


def test_opaque_fields_are_free_form() -> None:
    obj = _deployment()
    obj["metadata"]["managedFields"] = [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    result = validate(obj, DEPLOYMENT)
    assert (result.errors, result.unknown_fields) == ([], [])
    revision = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "web-1"},
        "revision": 1,
        "data": {"spec": {"template": {"anything": True}}},
    }
    result = validate(revision, GVK("apps", "v1", "ControllerRevision"))
    assert (result.errors, result.unknown_fields) == ([], [])

"""Loading the shipped Kubernetes 1.32 definitions."""

from __future__ import annotations

import subprocess
import sys

import pytest

from corral.machinery.openapi import (
    GVK,
    SchemaNotFound,
    Validator,
    builtin_definitions,
    preload_in_background,
    validate,
)


def test_import_does_not_load_the_definitions() -> None:
    code = (
        "import corral.machinery.openapi, corral.machinery.openapi.definitions as d;"
        "assert d._loaded is None"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_loaded_once_and_shared() -> None:
    thread = preload_in_background()
    thread.join(timeout=30)
    first = builtin_definitions()
    assert first is builtin_definitions()
    assert first.kubernetes_version == "1.32.0"
    assert "kubernetes-validate" in first.source
    assert len(first.schemas) > 600


def test_real_schema_details_are_intact() -> None:
    defs = builtin_definitions()
    containers = defs.schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    int_or_string = defs.schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["format"] == "int-or-string"
    spec = defs.schemas["io.k8s.api.apps.v1.DeploymentSpec"]
    assert spec["properties"]["replicas"] == {
        "description": spec["properties"]["replicas"]["description"],
        "format": "int32",
        "type": "integer",
    }
    # The converter's apiVersion/kind enums are gone, as in kube-apiserver's documents.
    assert "enum" not in defs.for_gvk(GVK("apps", "v1", "Deployment"))["properties"]["kind"]


def test_unknown_kind_and_ref() -> None:
    with pytest.raises(SchemaNotFound):
        validate({}, GVK("example.com", "v1", "Nope"))
    with pytest.raises(SchemaNotFound):
        builtin_definitions().resolve("#/components/schemas/nope")
    with pytest.raises(SchemaNotFound):
        Validator().validate({"a": 1}, {"properties": {"a": {"$ref": "#/components/schemas/x"}}})


def test_closure_and_with_schemas() -> None:
    defs = builtin_definitions()
    closure = defs.closure(["io.k8s.api.core.v1.ConfigMap"])
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in closure
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.Time" in closure
    extended = defs.with_schemas({"com.example.v1.Widget": {"type": "object"}})
    assert "com.example.v1.Widget" in extended.schemas
    assert "com.example.v1.Widget" not in defs.schemas

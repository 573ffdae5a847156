"""The same validator on CRD ``openAPIV3Schema`` structural schemas."""

from __future__ import annotations

from typing import Any

from corral.machinery.openapi import GVK, validate

WIDGET = GVK("example.com", "v1", "Widget")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "string", "enum": ["small", "large"]},
                "count": {"type": "integer", "nullable": True},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-list-type": "set",
                },
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "name": {"type": "string"},
            },
        },
    },
}


def _widget(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"size": "small"}
    base.update(spec)
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": base,
    }


def _errors(obj: dict[str, Any]) -> list[str]:
    return [str(e) for e in validate(obj, WIDGET, schema=SCHEMA).errors]


def test_valid_object() -> None:
    obj = _widget(
        count=None,
        port="http",
        tags=["a", "b"],
        ports=[{"name": "a"}, {"name": "b"}],
        labels={"x": "y"},
        config={"anything": {"goes": [1]}},
        template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}},
    )
    result = validate(obj, WIDGET, schema=SCHEMA)
    assert result.errors == []
    assert result.unknown_fields == []


def test_enum_required_and_null() -> None:
    assert _errors(_widget(size="huge")) == [
        'spec.size: Unsupported value: "huge": supported values: "small", "large"'
    ]
    obj = _widget(name=None)
    del obj["spec"]["size"]
    assert _errors(obj) == [
        'spec.name: Invalid value: "null": spec.name in body must be of type string: "null"',
        "spec.size: Required value",
    ]


def test_list_types() -> None:
    errors = _errors(_widget(tags=["a", "a"], ports=[{"name": "x"}, {"name": "x"}]))
    assert errors == [
        'spec.tags[1]: Duplicate value: "a"',
        'spec.ports[1]: Duplicate value: {"name":"x"}',
    ]


def test_embedded_resource_needs_kind_and_api_version() -> None:
    assert _errors(_widget(template={"metadata": {}})) == [
        "spec.template.apiVersion: Required value: must not be empty",
        "spec.template.kind: Required value: must not be empty",
    ]


def test_unknown_fields_and_pruning() -> None:
    obj = _widget(extra=1, config={"kept": True})
    result = validate(obj, WIDGET, schema=SCHEMA, prune=True)
    assert result.unknown_fields == ["spec.extra"]
    assert obj["spec"] == {"size": "small", "config": {"kept": True}}


def test_managed_fields_are_kept_whole() -> None:
    """FieldsV1 is opaque JSON: a structural schema must not prune ``f:spec``."""
    fields = {"f:spec": {"f:size": {}}, "f:metadata": {"f:labels": {".": {}}}}
    obj = _widget()
    obj["metadata"]["managedFields"] = [
        {"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": fields}
    ]
    result = validate(obj, WIDGET, schema=SCHEMA, prune=True)
    assert result.unknown_fields == []
    assert obj["metadata"]["managedFields"][0]["fieldsV1"] == fields


def test_structural_object_without_fields_keeps_nothing() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object"}, "raw": {}}}
    obj = {"spec": {"a": 1}, "raw": {"b": 2}}
    result = validate(obj, WIDGET, schema=schema, prune=True)
    assert result.unknown_fields == ["spec.a"]
    assert obj == {"spec": {}, "raw": {"b": 2}}


def _one(schema: dict[str, Any], value: object) -> list[str]:
    root = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"f": schema}}},
    }
    result = validate({"spec": {"f": value}}, WIDGET, schema=root)
    return [str(e) for e in result.errors]


def test_value_validations() -> None:
    assert _one({"type": "integer", "maximum": 10}, 11) == [
        "spec.f: Invalid value: 11: spec.f in body should be less than or equal to 10"
    ]
    assert _one({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, 0) == [
        "spec.f: Invalid value: 0: spec.f in body should be greater than 0"
    ]
    assert _one({"type": "string", "maxLength": 3}, "abcd") == [
        "spec.f: Too long: may not be more than 3 bytes"
    ]
    assert _one({"type": "string", "minLength": 2}, "a") == [
        'spec.f: Invalid value: "a": spec.f in body should be at least 2 chars long'
    ]
    assert _one({"type": "string", "pattern": "^[a-z]+$"}, "A1") == [
        "spec.f: Invalid value: \"A1\": spec.f in body should match '^[a-z]+$'"
    ]
    assert _one({"type": "array", "maxItems": 1, "items": {"type": "string"}}, ["a", "b"]) == [
        "spec.f: Too many: 2: must have at most 1 items"
    ]
    assert _one({"type": "string", "format": "date-time"}, "yesterday") == [
        'spec.f: Invalid value: "yesterday": spec.f in body must be of type date-time: "yesterday"'
    ]
    assert _one({"type": "string", "format": "date-time"}, "2024-05-01T10:00:00Z") == []
    assert _one({"type": "number", "multipleOf": 0.5}, 1.5) == []
    assert (
        _one({"type": "object", "maxProperties": 1, "additionalProperties": True}, {"a": 1}) == []
    )

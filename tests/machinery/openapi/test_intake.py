"""A write's body through parse, validation, pruning and fieldValidation."""

from __future__ import annotations

import pytest

from corral.machinery.openapi import GVK, FieldValidation, decode_and_check
from corral.machinery.status import BadRequest, Invalid

CONFIGMAP = GVK("", "v1", "ConfigMap")
DEPLOYMENT = GVK("apps", "v1", "Deployment")
BODY = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"},"foo":1}'
DUPLICATE_YAML = b"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
data:
  a: "1"
  a: "2"
"""


def test_warn_prunes_and_warns() -> None:
    intake = decode_and_check(BODY, CONFIGMAP, FieldValidation.WARN)
    assert "foo" not in intake.obj
    assert intake.warnings == ['unknown field "foo"']


def test_ignore_prunes_silently() -> None:
    intake = decode_and_check(BODY, CONFIGMAP, FieldValidation.IGNORE)
    assert "foo" not in intake.obj
    assert intake.warnings == []


def test_strict_rejects_unknown_and_duplicate_fields() -> None:
    with pytest.raises(BadRequest) as caught:
        decode_and_check(BODY, CONFIGMAP, FieldValidation.STRICT)
    assert str(caught.value) == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
        'strict decoding error: unknown field "foo"'
    )
    with pytest.raises(BadRequest, match=r'duplicate field "data\.a"'):
        decode_and_check(DUPLICATE_YAML, CONFIGMAP, FieldValidation.STRICT, yaml_body=True)


def test_schema_errors_are_invalid_with_causes() -> None:
    body = (
        b'{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},'
        b'"spec":{"replicas":"3","selector":{},"template":{"spec":{"containers":[{"image":"x"}]}}}}'
    )
    with pytest.raises(Invalid) as caught:
        decode_and_check(body, DEPLOYMENT, FieldValidation.STRICT)
    error = caught.value
    assert error.code == 422
    assert [c.field for c in error.causes] == [
        "spec.replicas",
        "spec.template.spec.containers[0].name",
    ]
    assert str(error).startswith('Deployment.apps "web" is invalid: [spec.replicas: Invalid value')


def test_malformed_bodies_are_bad_requests() -> None:
    for body, yaml_body in ((b"{", False), (b"[1]", False), (b"a: [", True)):
        with pytest.raises(BadRequest):
            decode_and_check(body, CONFIGMAP, FieldValidation.WARN, yaml_body=yaml_body)
    with pytest.raises(BadRequest):
        decode_and_check(b"{", CONFIGMAP, FieldValidation.IGNORE)


def test_custom_resource_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "string"}}}},
    }
    body = b'{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"x":1}}'
    gvk = GVK("example.com", "v1", "Widget")
    intake = decode_and_check(body, gvk, FieldValidation.WARN, schema=schema)
    assert intake.obj["spec"] == {}
    assert intake.warnings == ['unknown field "spec.x"']
    with pytest.raises(BadRequest) as caught:
        decode_and_check(body, gvk, FieldValidation.STRICT, schema=schema)
    assert str(caught.value) == 'strict decoding error: unknown field "spec.x"'

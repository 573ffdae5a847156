"""Duplicate-key detection and what ``fieldValidation`` makes of the findings."""

from __future__ import annotations

import pytest

from corral.machinery.openapi import (
    DecodeError,
    FieldValidation,
    apply_field_validation,
    decoding_context,
    parse_field_validation,
    parse_json,
    parse_yaml,
)
from corral.machinery.status import BadRequest

YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  replicas: 2
  template:
    spec:
      containers:
      - name: a
        image: x
        image: y
"""


def test_yaml_duplicates_with_paths() -> None:
    decoded = parse_yaml(YAML)
    assert decoded.duplicate_fields == ["spec.replicas", "spec.template.spec.containers[0].image"]
    assert decoded.obj["spec"]["replicas"] == 2


def test_json_duplicates_with_paths() -> None:
    decoded = parse_json(b'{"a": {"b": 1, "b": 2}, "c": [{"d": 1, "d": 1}], "a2": 3}')
    assert decoded.duplicate_fields == ["a.b", "c[0].d"]


def test_no_duplicates() -> None:
    assert parse_json('{"a": 1}').duplicate_fields == []
    assert parse_yaml("a: 1\nb: 2024-01-01\n").obj == {"a": 1, "b": "2024-01-01"}


@pytest.mark.parametrize("text", ["{", '{"a": 1} x'])
def test_malformed_json(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_json(text)


@pytest.mark.parametrize("text", ["a: [", "a: 1\n---\nb: 2\n", "? [a]\n: 1\n"])
def test_malformed_yaml(text: str) -> None:
    with pytest.raises(DecodeError):
        parse_yaml(text)


def test_strict_fails_with_kubernetes_message() -> None:
    with pytest.raises(BadRequest) as caught:
        apply_field_validation(
            FieldValidation.STRICT,
            ["spec.foo"],
            ["spec.replicas"],
            context=decoding_context("Deployment", "v1"),
        )
    assert caught.value.code == 400
    assert str(caught.value) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'duplicate field "spec.replicas", unknown field "spec.foo"'
    )


def test_warn_and_ignore() -> None:
    warn = apply_field_validation(FieldValidation.WARN, ["spec.foo"])
    assert warn == ['unknown field "spec.foo"']
    assert apply_field_validation(FieldValidation.IGNORE, ["spec.foo"], ["a"]) == []
    assert apply_field_validation(FieldValidation.STRICT, [], []) == []


def test_directive_parsing() -> None:
    assert parse_field_validation(None) is FieldValidation.WARN
    assert parse_field_validation("Strict") is FieldValidation.STRICT
    with pytest.raises(BadRequest):
        parse_field_validation("strict")

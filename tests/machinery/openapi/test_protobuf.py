"""``/openapi/v2`` in protobuf, read back with a small wire-format reader.

Field numbers are those of gnostic's ``openapi.v2`` messages (OpenAPIv2.proto):
Document.paths=8, .definitions=9; Paths.path=2; NamedX.name=1, .value=2;
PathItem.post=4, .patch=8; Operation.parameters=8, .vendor_extension=13;
ParametersItem.parameter=1; Parameter.body_parameter=1, .non_body_parameter=2;
NonBodyParameter.query_parameter_sub_schema=3; QueryParameterSubSchema.name=4;
Any.yaml=2; Schema.type=22, .properties=25, .vendor_extension=31.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson
import yaml

from corral.machinery.openapi import PROTOBUF_CONTENT_TYPE, OpenAPIPublisher, ServedResource
from corral.machinery.openapi.protobuf import encode_document

Fields = dict[int, list[Any]]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def read(data: bytes) -> Fields:
    """Every field of one message: number -> raw values (ints, floats or bytes)."""
    out: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value = struct.unpack("<d", data[pos : pos + 8])[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos : pos + length]
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _named(raw: bytes) -> tuple[str, bytes]:
    fields = read(raw)
    return fields[1][0].decode(), fields.get(2, [b""])[0]


def _publisher() -> OpenAPIPublisher:
    pub = OpenAPIPublisher()
    pub.update(
        [
            ServedResource("apps", "v1", "Deployment", "deployments", True),
            ServedResource("", "v1", "Namespace", "namespaces", False),
        ]
    )
    return pub


def test_document_round_trip() -> None:
    pub = _publisher()
    doc = pub.v2_protobuf()
    assert doc.content_type == PROTOBUF_CONTENT_TYPE
    spec = orjson.loads(pub.v2().body)
    top = read(doc.body)
    assert top[1] == [b"2.0"]
    paths = dict(_named(raw) for raw in read(top[8][0])[2])
    assert set(paths) == set(spec["paths"])
    definitions = dict(_named(raw) for raw in read(top[9][0])[1])
    assert set(definitions) == set(spec["definitions"])

    post = read(read(paths["/apis/apps/v1/namespaces/{namespace}/deployments"])[4][0])
    assert post[5] == [b"createAppsV1NamespacedDeployment"]
    extensions = dict(_named(raw) for raw in post[13])
    gvk = yaml.safe_load(read(extensions["x-kubernetes-group-version-kind"])[2][0].decode())
    assert gvk == {"group": "apps", "kind": "Deployment", "version": "v1"}
    names = []
    for raw in post[8]:
        parameter = read(read(raw)[1][0])
        if 1 in parameter:  # body
            names.append(read(parameter[1][0])[2][0].decode())
        else:
            non_body = read(parameter[2][0])
            # 3: a query parameter, 4: a path parameter; both keep the name in field 4.
            [sub] = non_body.get(3, []) + non_body.get(4, [])
            names.append(read(sub)[4][0].decode())
    assert {"body", "fieldValidation", "dryRun", "fieldManager"} <= set(names)


def test_schema_fields() -> None:
    pub = _publisher()
    definitions = dict(_named(raw) for raw in read(read(pub.v2_protobuf().body)[9][0])[1])
    deployment = read(definitions["io.k8s.api.apps.v1.Deployment"])
    assert read(deployment[22][0])[1] == [b"object"]
    properties = dict(_named(raw) for raw in read(deployment[25][0])[1])
    assert set(properties) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert read(properties["spec"])[1] == [b"#/definitions/io.k8s.api.apps.v1.DeploymentSpec"]
    ext = dict(_named(raw) for raw in deployment[31])
    assert "x-kubernetes-group-version-kind" in ext


def test_scalars_are_encoded_as_proto3() -> None:
    encoded = encode_document(
        {
            "swagger": "2.0",
            "definitions": {
                "X": {"type": "integer", "minimum": 1.5, "maxLength": 300, "uniqueItems": True}
            },
        }
    )
    [named] = read(read(encoded)[9][0])[1]
    _, raw = _named(named)
    fields = read(raw)
    assert fields[9] == [1.5]
    assert fields[11] == [300]
    assert fields[16] == [1]

"""``/openapi/v2`` in protobuf, kubectl's and client-go's preferred encoding of it.

Clients ask for ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
(the old name) or ``…spec.v2.v1.0+protobuf``; the answer is labelled with the
second, as kube-apiserver labels it (Go's MIME parser rejects the ``@``).
It is the ``openapi.v2.Document`` message of gnostic's ``OpenAPIv2.proto``,
serialized with the plain protobuf wire format (proto3: fields at their
default value are left out). Extension values (``x-kubernetes-*``), ``default``,
``example`` and ``enum`` entries travel as ``openapi.v2.Any`` with their value
as YAML text in field 2; JSON text is YAML, so they are written as JSON.

This module encodes the JSON document that :mod:`documents` builds, so the two
encodings always describe the same thing. Only what those documents contain is
covered: body, query and path parameters, responses with schemas, the API-key
security definition, and every Schema field of the proto.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
PROTOBUF_ACCEPT_TYPES = (
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    PROTOBUF_CONTENT_TYPE,
)

_VARINT, _FIXED64, _BYTES = 0, 1, 2


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


class _Message:
    """A protobuf message being written, field by field."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def string(self, number: int, value: object) -> None:
        if isinstance(value, str) and value:
            data = value.encode()
            self._parts += [_key(number, _BYTES), _varint(len(data)), data]

    def strings(self, number: int, values: Iterable[object]) -> None:
        for value in values:
            data = str(value).encode()
            self._parts += [_key(number, _BYTES), _varint(len(data)), data]

    def boolean(self, number: int, value: object) -> None:
        if value is True:
            self._parts += [_key(number, _VARINT), b"\x01"]

    def int64(self, number: int, value: object) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and value:
            self._parts += [_key(number, _VARINT), _varint(value)]

    def double(self, number: int, value: object) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value:
            self._parts += [_key(number, _FIXED64), struct.pack("<d", float(value))]

    def message(self, number: int, value: _Message) -> None:
        data = value.encode()
        self._parts += [_key(number, _BYTES), _varint(len(data)), data]

    def encode(self) -> bytes:
        return b"".join(self._parts)


def _any(value: object) -> _Message:
    msg = _Message()
    msg.string(2, orjson.dumps(value).decode() + "\n")
    return msg


def _named(name: str, value: _Message) -> _Message:
    msg = _Message()
    msg.string(1, name)
    msg.message(2, value)
    return msg


def _extensions(msg: _Message, number: int, node: Mapping[str, Any]) -> None:
    for key, value in node.items():
        if key.startswith("x-"):
            msg.message(number, _named(key, _any(value)))


def schema(node: Mapping[str, Any]) -> _Message:
    """An ``openapi.v2.Schema``."""
    msg = _Message()
    msg.string(1, node.get("$ref"))
    msg.string(2, node.get("format"))
    msg.string(3, node.get("title"))
    msg.string(4, node.get("description"))
    if "default" in node:
        msg.message(5, _any(node["default"]))
    msg.double(6, node.get("multipleOf"))
    msg.double(7, node.get("maximum"))
    msg.boolean(8, node.get("exclusiveMaximum"))
    msg.double(9, node.get("minimum"))
    msg.boolean(10, node.get("exclusiveMinimum"))
    for number, key in ((11, "maxLength"), (12, "minLength")):
        msg.int64(number, node.get(key))
    msg.string(13, node.get("pattern"))
    msg.int64(14, node.get("maxItems"))
    msg.int64(15, node.get("minItems"))
    msg.boolean(16, node.get("uniqueItems"))
    msg.int64(17, node.get("maxProperties"))
    msg.int64(18, node.get("minProperties"))
    msg.strings(19, node.get("required") or ())
    for value in node.get("enum") or ():
        msg.message(20, _any(value))
    additional = node.get("additionalProperties")
    if isinstance(additional, Mapping):
        item = _Message()
        item.message(1, schema(additional))
        msg.message(21, item)
    elif isinstance(additional, bool):
        item = _Message()
        item.boolean(2, additional)
        msg.message(21, item)
    if "type" in node:
        kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
        type_item = _Message()
        type_item.strings(1, kinds)
        msg.message(22, type_item)
    items = node.get("items")
    if items is not None:
        items_item = _Message()
        for sub in items if isinstance(items, list) else [items]:
            items_item.message(1, schema(sub))
        msg.message(23, items_item)
    for sub in node.get("allOf") or ():
        msg.message(24, schema(sub))
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        props = _Message()
        for name, sub in properties.items():
            props.message(1, _named(name, schema(sub)))
        msg.message(25, props)
    msg.string(26, node.get("discriminator"))
    msg.boolean(27, node.get("readOnly"))
    if "example" in node:
        msg.message(30, _any(node["example"]))
    _extensions(msg, 31, node)
    return msg


def _parameter(param: Mapping[str, Any]) -> _Message:
    inner = _Message()
    if param.get("in") == "body":
        body = _Message()
        body.string(1, param.get("description"))
        body.string(2, param.get("name"))
        body.string(3, "body")
        body.boolean(4, param.get("required"))
        body.message(5, schema(param.get("schema") or {}))
        inner.message(1, body)
    else:
        sub = _Message()
        sub.boolean(1, param.get("required"))
        sub.string(2, param.get("in"))
        sub.string(3, param.get("description"))
        sub.string(4, param.get("name"))
        if param.get("in") == "query":
            sub.string(6, param.get("type"))
            sub.boolean(20, param.get("uniqueItems"))
            choice = 3
        else:  # path
            sub.string(5, param.get("type"))
            sub.boolean(19, param.get("uniqueItems"))
            choice = 4
        non_body = _Message()
        non_body.message(choice, sub)
        inner.message(2, non_body)
    item = _Message()
    item.message(1, inner)
    return item


def _operation(op: Mapping[str, Any]) -> _Message:
    msg = _Message()
    msg.strings(1, op.get("tags") or ())
    msg.string(2, op.get("summary"))
    msg.string(3, op.get("description"))
    msg.string(5, op.get("operationId"))
    msg.strings(6, op.get("produces") or ())
    msg.strings(7, op.get("consumes") or ())
    for param in op.get("parameters") or ():
        msg.message(8, _parameter(param))
    responses = _Message()
    for code, response in (op.get("responses") or {}).items():
        resp = _Message()
        resp.string(1, response.get("description"))
        if "schema" in response:
            schema_item = _Message()
            schema_item.message(1, schema(response["schema"]))
            resp.message(2, schema_item)
        value = _Message()
        value.message(1, resp)
        responses.message(1, _named(code, value))
    msg.message(9, responses)
    msg.strings(10, op.get("schemes") or ())
    msg.boolean(11, op.get("deprecated"))
    _extensions(msg, 13, op)
    return msg


_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def encode_document(doc: Mapping[str, Any]) -> bytes:
    """The ``openapi.v2.Document`` encoding of a Swagger 2.0 JSON document."""
    msg = _Message()
    msg.string(1, doc.get("swagger"))
    info = _Message()
    info.string(1, doc.get("info", {}).get("title"))
    info.string(2, doc.get("info", {}).get("version"))
    msg.message(2, info)
    paths = _Message()
    for path, item in (doc.get("paths") or {}).items():
        path_item = _Message()
        for method, op in item.items():
            if method in _METHODS:
                path_item.message(_METHODS[method], _operation(op))
        paths.message(2, _named(path, path_item))
    msg.message(8, paths)
    definitions = _Message()
    for name, node in (doc.get("definitions") or {}).items():
        definitions.message(1, _named(name, schema(node)))
    msg.message(9, definitions)
    for requirement in doc.get("security") or ():
        req = _Message()
        for name, scopes in requirement.items():
            array = _Message()
            array.strings(1, scopes)
            req.message(1, _named(name, array))
        msg.message(12, req)
    security = doc.get("securityDefinitions") or {}
    if security:
        defs = _Message()
        for name, scheme in security.items():
            api_key = _Message()
            for number, key in ((1, "type"), (2, "name"), (3, "in"), (4, "description")):
                api_key.string(number, scheme.get(key))
            item = _Message()
            item.message(2, api_key)
            defs.message(1, _named(name, item))
        msg.message(13, defs)
    return msg.encode()

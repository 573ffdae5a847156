"""Rendering operations and definitions as OpenAPI v3 and Swagger 2.0 documents.

The v3 document of one group-version carries its ``paths`` and, in
``components.schemas``, exactly the definitions they need (transitively), so
every ``$ref`` resolves inside the document, as in kube-apiserver's
``/openapi/v3/apis/<group>/<version>``. The v2 document is the same for all
group-versions at once, with refs rewritten to ``#/definitions/`` and the v3-only
constructs (``oneOf`` unions, ``nullable``, ``anyOf``, ``not``) lowered the way
Kubernetes lowers them (a Quantity is a ``string``, an IntOrString a ``string``
of format ``int-or-string``). Parameters are written inline in each operation:
kubectl reads them by name there to decide that the server validates fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from corral.machinery.openapi.definitions import V2_PREFIX, V3_PREFIX, Definitions
from corral.machinery.openapi.operations import Operation
from corral.machinery.openapi.parameters import Param

INFO = {"title": "Kubernetes", "version": "v1.32.0"}
_BEARER = {
    "type": "apiKey",
    "description": "Bearer Token authentication",
    "name": "authorization",
    "in": "header",
}
_STATUS_TEXT = {"200": "OK", "201": "Created", "202": "Accepted", "401": "Unauthorized"}
_V3_ONLY = ("nullable", "oneOf", "anyOf", "not")


def _extensions(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"x-kubernetes-action": op.action}
    if op.gvk is not None:
        out["x-kubernetes-group-version-kind"] = {
            "group": op.gvk.group,
            "kind": op.gvk.kind,
            "version": op.gvk.version,
        }
    return out


def _v3_param(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.location,
        "description": param.description,
        "schema": {"type": param.type, "uniqueItems": True},
    }
    if param.required:
        out["required"] = True
    return out


def _v3_operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tags": [op.tag],
        "description": op.description,
        "operationId": op.operation_id,
        "parameters": [_v3_param(p) for p in op.params],
    }
    if op.body_schema:
        ref = {"$ref": V3_PREFIX + op.body_schema}
        out["requestBody"] = {
            "content": {t: {"schema": ref} for t in op.body_types},
            "required": op.method != "delete",
        }
    responses: dict[str, Any] = {}
    for code, schema in op.responses.items():
        response: dict[str, Any] = {"description": _STATUS_TEXT.get(code, code)}
        if schema:
            response["content"] = {
                t: {"schema": {"$ref": V3_PREFIX + schema}} for t in op.response_types
            }
        responses[code] = response
    out["responses"] = responses
    out.update(_extensions(op))
    return out


def _referenced(ops: Iterable[Operation]) -> set[str]:
    names = set()
    for op in ops:
        if op.body_schema:
            names.add(op.body_schema)
        names.update(s for s in op.responses.values() if s)
    return names


def v3_document(ops: list[Operation], definitions: Definitions) -> dict[str, Any]:
    """The OpenAPI v3 document of one group-version's operations."""
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method] = _v3_operation(op)
    schemas = definitions.closure(_referenced(ops))
    return {
        "openapi": "3.0.0",
        "info": INFO,
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"BearerToken": _BEARER},
        },
    }


def _v2_param(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "uniqueItems": True,
        "type": param.type,
        "description": param.description,
        "name": param.name,
        "in": param.location,
    }
    if param.required:
        out["required"] = True
    return out


def _v2_operation(op: Operation) -> dict[str, Any]:
    params = [_v2_param(p) for p in op.params]
    if op.body_schema:
        body = {"$ref": V2_PREFIX + op.body_schema}
        params.insert(0, {"name": "body", "in": "body", "required": True, "schema": body})
    responses: dict[str, Any] = {}
    for code, schema in op.responses.items():
        response: dict[str, Any] = {"description": _STATUS_TEXT.get(code, code)}
        if schema:
            response["schema"] = {"$ref": V2_PREFIX + schema}
        responses[code] = response
    out: dict[str, Any] = {
        "description": op.description,
        "consumes": list(op.body_types) or ["*/*"],
        "produces": list(op.response_types),
        "schemes": ["https"],
        "tags": [op.tag],
        "operationId": op.operation_id,
        "parameters": params,
        "responses": responses,
    }
    out.update(_extensions(op))
    return out


def to_v2_schema(node: Any) -> Any:
    """A v3 schema lowered to Swagger 2.0 (refs to ``#/definitions/``, no v3-only keywords)."""
    if isinstance(node, list):
        return [to_v2_schema(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    union = node.get("oneOf")
    if (
        "type" not in node
        and isinstance(union, list)
        and union
        and all(isinstance(b, Mapping) and set(b) == {"type"} for b in union)
    ):
        out["type"] = "string"
    for key, value in node.items():
        if key in _V3_ONLY:
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace(V3_PREFIX, V2_PREFIX)
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {name: to_v2_schema(prop) for name, prop in value.items()}
        else:
            out[key] = to_v2_schema(value)
    return out


def v2_document(ops: list[Operation], definitions: Definitions) -> dict[str, Any]:
    """The Swagger 2.0 document of all operations."""
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method] = _v2_operation(op)
    schemas = definitions.closure(_referenced(ops))
    return {
        "swagger": "2.0",
        "info": INFO,
        "paths": dict(sorted(paths.items())),
        "definitions": {name: to_v2_schema(s) for name, s in sorted(schemas.items())},
        "securityDefinitions": {"BearerToken": _BEARER},
        "security": [{"BearerToken": []}],
    }

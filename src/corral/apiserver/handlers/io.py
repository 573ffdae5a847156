"""Request bodies in, response bodies out: media types, size limit, query options.

- Bodies: ``application/json``, ``application/yaml`` (a single document) and
  ``application/vnd.kubernetes.protobuf`` (built-in kinds: decoded to JSON by
  ``corral.machinery.protobuf``, then checked exactly as JSON is), at most
  3 MiB (413); anything else is 415 with the accepted types listed.
- Responses: JSON by default; YAML when Accept prefers ``application/yaml``;
  a Table when Accept asks for ``as=Table;g=meta.k8s.io;v=v1``. An Accept
  that allows none of these is 406.
- ``dryRun``: only ``All`` is a valid value (400 otherwise).
- Creates and updates are checked against the kind's OpenAPI schema, with
  ``fieldValidation`` deciding what unknown and duplicate fields do.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

import orjson
import yaml

from corral.apiserver.asgi import Request, Response
from corral.machinery.openapi import GVK, Intake, decode_and_check, parse_field_validation
from corral.machinery.protobuf import CONTENT_TYPE as PROTOBUF
from corral.machinery.protobuf import decode_delete_options, decode_object
from corral.machinery.status import (
    BadRequest,
    NotAcceptable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

MAX_BODY = 3 * 1024 * 1024
JSON = b"application/json"
YAML = b"application/yaml"
BODY_TYPES = ("application/json", "application/yaml", PROTOBUF)
_SERVED = (
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch",
)


def media_type(header: str) -> str:
    """The bare media type of a Content-Type value."""
    return header.split(";", 1)[0].strip().lower()


async def read_raw(request: Request) -> bytes:
    body = await request.body(MAX_BODY)
    if body is None:
        raise RequestEntityTooLarge(f"limit is {MAX_BODY}")
    return body


def parse_document(raw: bytes, content_type: str) -> Any:
    """A JSON or YAML document; 400 if it does not parse."""
    try:
        if content_type == "application/yaml":
            return yaml.safe_load(raw.decode("utf-8")) if raw.strip() else None
        return orjson.loads(raw) if raw.strip() else None
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the object provided is unrecognized: {_short(exc)}") from None


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def body_media_type(request: Request) -> str:
    """The request body's media type; 415 unless it is JSON, YAML or protobuf."""
    ctype = media_type(request.headers.get("content-type", "application/json"))
    if ctype not in BODY_TYPES:
        raise UnsupportedMediaType(BODY_TYPES)
    return ctype


async def read_checked_object(
    request: Request,
    gvk: GVK,
    schema: Mapping[str, Any] | None = None,
    only: Collection[str] | None = None,
) -> Intake:
    """The body of a create or update, checked against the kind's schema.

    ``schema`` is a custom resource version's ``openAPIV3Schema``.

    Schema errors are 422 Invalid; unknown and duplicate fields follow the
    request's ``fieldValidation`` (Strict: 400, Warn: warnings, Ignore: none),
    and unknown fields are dropped, as kube-apiserver does.
    """
    ctype = body_media_type(request)
    directive = parse_field_validation(query_one(request, "fieldValidation") or None)
    raw = await read_raw(request)
    if ctype == PROTOBUF:
        raw = orjson.dumps(decode_object(raw, gvk.group_version, gvk.kind))
    return decode_and_check(
        raw, gvk, directive, yaml_body=ctype == "application/yaml", schema=schema, only=only
    )


def with_warnings(response: Response, warnings: list[str]) -> Response:
    """``response`` with one ``Warning: 299 - "…"`` header per warning."""
    for text in warnings:
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.append((b"warning", f'299 - "{quoted}"'.encode()))
    return response


async def read_object(request: Request) -> dict[str, Any]:
    """The request's body as an object (JSON, YAML or protobuf)."""
    ctype = body_media_type(request)
    if ctype == PROTOBUF:
        return decode_object(await read_raw(request))
    doc = parse_document(await read_raw(request), ctype)
    if not isinstance(doc, dict):
        raise BadRequest("the body of the request must be a JSON or YAML object")
    return doc


async def read_options(request: Request) -> dict[str, Any]:
    """An optional DeleteOptions body ({} when empty)."""
    raw = await read_raw(request)
    if not raw.strip():
        return {}
    ctype = media_type(request.headers.get("content-type", "application/json"))
    if ctype == PROTOBUF:
        return decode_delete_options(raw)
    doc = parse_document(raw, "application/yaml" if ctype == "application/yaml" else "")
    return doc if isinstance(doc, dict) else {}


def query_one(request: Request, key: str, default: str = "") -> str:
    values = request.query.get(key)
    return values[-1] if values else default


def query_int(request: Request, key: str, default: int = 0) -> int:
    text = query_one(request, key)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"invalid value for {key}: {text!r}") from None


def dry_run(request: Request) -> bool:
    values = request.query.get("dryRun", [])
    for value in values:
        if value != "All":
            raise BadRequest(f'Invalid dryRun value: "{value}"; supported values: "All"')
    return bool(values)


def _accepts(request: Request) -> tuple[tuple[str, Mapping[str, str]], ...]:
    return _parse_accept(request.headers.get("accept", ""))


@functools.lru_cache(maxsize=256)
def _parse_accept(header: str) -> tuple[tuple[str, Mapping[str, str]], ...]:
    """An Accept header as (media type, parameters) pairs; clients send few distinct ones."""
    out = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip().lower()] = value.strip()
        out.append((pieces[0].lower(), MappingProxyType(params)))
    return tuple(out)


def wants_table(request: Request) -> bool:
    """True if Accept asks for a meta.k8s.io Table (first among what we serve)."""
    for mtype, params in _accepts(request):
        if params.get("as") == "Table":
            if params.get("g") == "meta.k8s.io" and mtype == "application/json":
                return True
            continue
        if mtype in _SERVED or mtype in ("*/*", "application/*"):
            return False
    return False


def response_format(request: Request) -> bytes:
    """``JSON`` or ``YAML``; 406 if Accept allows neither."""
    accepts = _accepts(request)
    if not accepts:
        return JSON
    for mtype, params in accepts:
        if "as" in params:
            continue
        if mtype == "application/yaml":
            return YAML
        if mtype in _SERVED or mtype in ("*/*", "application/*"):
            return JSON
    if any("as" in params for _, params in accepts):
        return JSON
    raise NotAcceptable(("application/json", "application/yaml"))


def body_response(request: Request, status: int, body: bytes) -> Response:
    """Serve already-encoded JSON ``body`` in the negotiated format."""
    fmt = response_format(request)
    if fmt == YAML:
        text = yaml.safe_dump(orjson.loads(body), sort_keys=False)
        return Response(status, text.encode(), YAML)
    return Response(status, body, JSON)


def object_response(request: Request, status: int, obj: Any) -> Response:
    return body_response(request, status, orjson.dumps(obj))

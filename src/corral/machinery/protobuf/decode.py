"""Kubernetes protobuf bodies to the JSON object Kubernetes' own JSON encoding gives.

A body is ``k8s\\x00`` then a ``runtime.Unknown``: ``typeMeta`` (1: apiVersion,
2: kind), ``raw`` (the object's message), ``contentEncoding``, ``contentType``.
The object's message is decoded with the field tables (:mod:`.tables`) into
the JSON Go would write for the same struct:

* fields in Go struct order; a field absent from the wire is absent;
* a present empty string is dropped (``omitempty``) unless the Go field is a
  pointer; a zero number or ``false`` is dropped only where Go would omit it
  (a non-pointer ``omitempty`` field), else kept;
* a message is an object even when empty; inlined messages are merged into
  their parent; list wrappers (``ExtraValue``) are plain lists;
* ``bytes`` are base64; maps keep every value; the special types of
  :mod:`.wellknown` become strings, ints or embedded JSON.

Unknown field numbers are skipped. Anything malformed is a ``BadRequest``
naming what failed and where; nesting and size are bounded.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

from corral.machinery.protobuf.tables import FieldSpec, MessageSpec, Tables, builtin_tables
from corral.machinery.protobuf.wellknown import CONVERTERS
from corral.machinery.protobuf.wire import (
    FIXED32,
    FIXED64,
    LEN,
    VARINT,
    WireError,
    WireValue,
    as_float,
    as_signed,
    iter_fields,
    read_packed,
    zigzag,
)
from corral.machinery.status import BadRequest, UnsupportedMediaType

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
DELETE_OPTIONS = "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"
MAX_DEPTH = 100
MAX_VALUES = 1_000_000

_WIRE_OF = {
    "double": FIXED64,
    "fixed64": FIXED64,
    "sfixed64": FIXED64,
    "float": FIXED32,
    "fixed32": FIXED32,
    "sfixed32": FIXED32,
    "string": LEN,
    "bytes": LEN,
}
_INTS: dict[str, Callable[[int], int]] = {
    "int32": lambda v: as_signed(v, 32),
    "int64": lambda v: as_signed(v, 64),
    "uint32": lambda v: v & 0xFFFFFFFF,
    "uint64": lambda v: v,
    "sint32": lambda v: zigzag(v & 0xFFFFFFFF),
    "sint64": zigzag,
    "fixed32": lambda v: v,
    "fixed64": lambda v: v,
    "sfixed32": lambda v: as_signed(v, 32),
    "sfixed64": lambda v: as_signed(v, 64),
    "enum": lambda v: as_signed(v, 32),
}


class ProtobufError(WireError):
    """A body that is well-formed protobuf but not the message it claims to be."""


def _wire_of(ftype: str) -> int:
    return _WIRE_OF.get(ftype, VARINT if ftype in _INTS or ftype == "bool" else LEN)


class _Decoder:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.values = 0
        self.path: list[str] = []

    def _count(self) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise ProtobufError(f"more than {MAX_VALUES} values")

    def message(self, buf: bytes, name: str) -> Any:
        spec = self.tables.message(name)
        if spec is None:
            raise ProtobufError(f"no field table for {name}")
        if len(self.path) > MAX_DEPTH:
            raise ProtobufError(f"nested deeper than {MAX_DEPTH}")
        convert = CONVERTERS.get(name)
        if convert is not None:
            raw: dict[int, WireValue] = {}
            for number, _, value in iter_fields(buf):
                raw[number] = value
            return convert(raw)
        if spec.wrapper:
            only = next(iter(spec.fields.values()))
            return self._gather(buf, spec).get(only.number, [])
        return self._object(spec, self._gather(buf, spec))

    def _gather(self, buf: bytes, spec: MessageSpec) -> dict[int, Any]:
        found: dict[int, Any] = {}
        for number, wire, value in iter_fields(buf):
            field = spec.fields.get(number)
            if field is None:
                continue
            self._count()
            self.path.append(field.json_name)
            if field.is_map:
                found.setdefault(number, {}).update([self._entry(field, wire, value)])
            elif field.repeated:
                found.setdefault(number, []).extend(self._elements(field, wire, value))
            else:
                found[number] = self._value(field.type, wire, value)
            self.path.pop()
        return found

    def _object(self, spec: MessageSpec, found: dict[int, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for number, field in spec.fields.items():
            if number not in found:
                continue
            value = found[number]
            if field.inline and isinstance(value, dict):
                out.update(value)
            elif not _omitted(field, value):
                out[field.json_name] = value
        return out

    def _elements(self, field: FieldSpec, wire: int, value: WireValue) -> Iterable[Any]:
        expected = _wire_of(field.type)
        if wire == LEN and expected != LEN and isinstance(value, bytes):
            return [self._scalar(field.type, v) for v in read_packed(value, expected)]
        return [self._value(field.type, wire, value)]

    def _entry(self, field: FieldSpec, wire: int, value: WireValue) -> tuple[str, Any]:
        if wire != LEN or not isinstance(value, bytes):
            raise ProtobufError(f"map entry with wire type {wire}")
        key: Any = ""
        item: Any = None
        for number, entry_wire, entry_value in iter_fields(value):
            if number == 1:
                key = self._value(field.type, entry_wire, entry_value)
            elif number == 2:
                item = self._value(field.map_value, entry_wire, entry_value)
        if item is None:
            item = self._zero(field.map_value)
        return str(key), item

    def _zero(self, ftype: str) -> Any:
        if ftype in ("string", "bytes"):
            return ""
        if ftype == "bool":
            return False
        if ftype in _INTS:
            return 0
        if ftype in ("double", "float"):
            return 0.0
        return self.message(b"", ftype)

    def _value(self, ftype: str, wire: int, value: WireValue) -> Any:
        expected = _wire_of(ftype)
        if wire != expected:
            raise ProtobufError(f"wire type {wire} where {ftype} (wire type {expected}) belongs")
        if isinstance(value, bytes):
            if ftype == "string":
                return value.decode("utf-8", errors="replace")
            if ftype == "bytes":
                return base64.b64encode(value).decode("ascii")
            return self.message(value, ftype)
        return self._scalar(ftype, value)

    def _scalar(self, ftype: str, value: int) -> Any:
        if ftype == "bool":
            return value != 0
        if ftype == "double":
            return as_float(value, 64)
        if ftype == "float":
            return as_float(value, 32)
        return _INTS[ftype](value)


def _omitted(field: FieldSpec, value: Any) -> bool:
    if value is None:
        return True
    if field.pointer or field.repeated or field.is_map or isinstance(value, dict | list):
        return False
    if value == "":
        return True
    return field.omit_zero and value in (0, False)


def _fail(exc: WireError, what: str, path: list[str]) -> BadRequest:
    where = f" (at {'.'.join(path)})" if path else ""
    return BadRequest(f"the protobuf body of {what} is malformed: {exc}{where}")


def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """``(apiVersion, kind, raw)`` of a ``k8s\\x00`` + ``runtime.Unknown`` body."""
    if not body.startswith(MAGIC):
        raise BadRequest("the protobuf body does not start with the Kubernetes magic 'k8s\\x00'")
    api_version = kind = encoding = ""
    raw = b""
    try:
        for number, wire, value in iter_fields(body[len(MAGIC) :]):
            if wire != LEN or not isinstance(value, bytes):
                continue
            if number == 1:
                for inner, inner_wire, text in iter_fields(value):
                    if inner_wire == LEN and isinstance(text, bytes) and inner in (1, 2):
                        decoded = text.decode("utf-8", errors="replace")
                        api_version, kind = (
                            (decoded, kind) if inner == 1 else (api_version, decoded)
                        )
            elif number == 2:
                raw = value
            elif number == 3:
                encoding = value.decode("utf-8", errors="replace")
    except WireError as exc:
        raise _fail(exc, "the request", ["runtime.Unknown"]) from None
    if encoding:
        raise BadRequest(f"unsupported protobuf content encoding {encoding!r}")
    return api_version, kind, raw


def decode_object(
    body: bytes, api_version: str = "", kind: str = "", tables: Tables | None = None
) -> dict[str, Any]:
    """The JSON object of a protobuf request body.

    ``apiVersion`` and ``kind`` come from the envelope, or else from the
    arguments (the resource the request addresses); they lead the object.
    415 if there is no protobuf message for that kind (custom resources).
    """
    tables = tables or builtin_tables()
    sent_version, sent_kind, raw = unwrap(body)
    api_version, kind = sent_version or api_version, sent_kind or kind
    name = tables.message_for(api_version, kind)
    if name is None:
        raise UnsupportedMediaType(("application/json", "application/yaml"))
    return _decode(raw, name, api_version, kind, tables)


def decode_delete_options(body: bytes, tables: Tables | None = None) -> dict[str, Any]:
    """A protobuf ``DeleteOptions`` body as JSON (``meta/v1``, whatever the envelope says)."""
    api_version, kind, raw = unwrap(body)
    return _decode(raw, DELETE_OPTIONS, api_version, kind, tables or builtin_tables())


def _decode(raw: bytes, name: str, api_version: str, kind: str, tables: Tables) -> dict[str, Any]:
    decoder = _Decoder(tables)
    try:
        obj = decoder.message(raw, name)
    except WireError as exc:
        what = f"{api_version}, Kind={kind}" if kind else name.rsplit(".", 1)[-1]
        what = what.removeprefix("/")
        raise _fail(exc, what, decoder.path) from None
    head = {"apiVersion": api_version, "kind": kind} if kind else {}
    return {**head, **obj}

"""Kubernetes types whose JSON is not their protobuf message's fields.

``metav1.Time`` is an RFC 3339 string (``null`` when zero), ``MicroTime`` the
same with microseconds, ``Duration`` a Go duration string, ``Quantity`` its
string, ``IntOrString`` an int or a string, ``RawExtension`` and ``FieldsV1``
the JSON they carry. Each converter takes the message's decoded raw fields
(number → wire value) and returns the JSON value, ``None`` meaning "omitted".
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from corral.machinery.protobuf.wire import WireError, WireValue, as_signed

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
DURATION = f"{META}.Duration"
FIELDS_V1 = f"{META}.FieldsV1"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
QUANTITY_VALUE = "k8s.io.apimachinery.pkg.api.resource.QuantityValue"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"

ZERO_TIME_SECONDS = -62135596800  # Go's time.Time{} (0001-01-01T00:00:00Z)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

Raw = Mapping[int, WireValue]


def _int(raw: Raw, number: int, bits: int = 64) -> int:
    value = raw.get(number, 0)
    if not isinstance(value, int):
        raise WireError(f"field {number}: expected a number")
    return as_signed(value, bits)


def _bytes(raw: Raw, number: int) -> bytes:
    value = raw.get(number, b"")
    if not isinstance(value, bytes):
        raise WireError(f"field {number}: expected bytes")
    return value


def _text(raw: Raw, number: int) -> str:
    return _bytes(raw, number).decode("utf-8", errors="replace")


def _instant(raw: Raw) -> datetime.datetime | None:
    seconds, nanos = _int(raw, 1), _int(raw, 2, 32)
    if not raw or seconds == ZERO_TIME_SECONDS:
        return None
    try:
        return _EPOCH + datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        raise WireError(f"time out of range: {seconds} seconds") from None


def _rfc3339(t: datetime.datetime, fraction: str = "") -> str:
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f"{fraction}Z"
    )


def time_json(raw: Raw) -> str | None:
    """``metav1.Time``: RFC 3339 in UTC, whole seconds; ``None`` for the zero time."""
    instant = _instant(raw)
    return None if instant is None else _rfc3339(instant)


def micro_time_json(raw: Raw) -> str | None:
    """``metav1.MicroTime``: RFC 3339 with six fractional digits."""
    instant = _instant(raw)
    return None if instant is None else _rfc3339(instant, f".{instant.microsecond:06d}")


def _decimal(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    digits = len(str(unit)) - 1
    text = str(frac).rjust(digits, "0").rstrip("0") if digits else ""
    return f"{whole}.{text}" if text else str(whole)


def go_duration(ns: int) -> str:
    """Go's ``time.Duration.String``: ``1h2m3.5s``, ``1.5ms``, ``0s``."""
    if ns == 0:
        return "0s"
    sign, u = ("-" if ns < 0 else ""), abs(ns)
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_decimal(u, 1_000)}µs"
    if u < 1_000_000_000:
        return f"{sign}{_decimal(u, 1_000_000)}ms"
    minutes, rest = divmod(u, 60_000_000_000)
    text = _decimal(rest, 1_000_000_000) + "s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        text = f"{minutes}m{text}"
        if hours:
            text = f"{hours}h{text}"
    return sign + text


def duration_json(raw: Raw) -> str:
    return go_duration(_int(raw, 1))


def quantity_json(raw: Raw) -> str:
    return _text(raw, 1) or "0"


def int_or_string_json(raw: Raw) -> int | str:
    return _text(raw, 3) if _int(raw, 1) == 1 else _int(raw, 2, 32)


def _embedded_json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise WireError("embedded object is not JSON") from None


def raw_extension_json(raw: Raw) -> Any:
    return _embedded_json(_bytes(raw, 1))


def fields_v1_json(raw: Raw) -> Any:
    return _embedded_json(_bytes(raw, 1))


CONVERTERS: dict[str, Callable[[Raw], Any]] = {
    TIME: time_json,
    MICRO_TIME: micro_time_json,
    DURATION: duration_json,
    QUANTITY: quantity_json,
    QUANTITY_VALUE: quantity_json,
    INT_OR_STRING: int_or_string_json,
    RAW_EXTENSION: raw_extension_json,
    FIELDS_V1: fields_v1_json,
}

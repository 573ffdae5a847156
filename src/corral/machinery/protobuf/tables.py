"""The Kubernetes 1.32 protobuf field tables, loaded from package data once.

``data/k8s-1.32-protobuf-fields.json.gz`` is written by
``scripts/gen-k8s-protobuf-fields.py`` from the descriptors and Go struct tags
in a kubectl 1.32 binary (its header says which). Per message it lists each
field's number, JSON name, type (a scalar name, a message's full name, or a
map's key and value types), whether it repeats or is a map, and what Go's JSON
encoding does with it (inlined into the parent, zero omitted, or a pointer
whose zero is kept).
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

DATA_FILE = "k8s-1.32-protobuf-fields.json.gz"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message, as Go's JSON encoding would write it."""

    number: int
    json_name: str
    type: str
    repeated: bool = False
    map_value: str = ""
    inline: bool = False
    omit_zero: bool = False
    pointer: bool = False

    @property
    def is_map(self) -> bool:
        return bool(self.map_value)


@dataclass(frozen=True)
class MessageSpec:
    name: str
    fields: dict[int, FieldSpec]
    wrapper: bool = False


class Tables:
    """Messages by full name, and which message a group/version/kind is."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.source: str = data.get("source", "")
        self.kubernetes: str = data.get("kubernetes", "")
        self._groups: dict[str, str] = dict(data["groups"])
        wrappers = set(data.get("wrappers", ()))
        self._messages = {
            name: MessageSpec(name, _fields(rows), name in wrappers)
            for name, rows in data["messages"].items()
        }

    def message(self, name: str) -> MessageSpec | None:
        return self._messages.get(name)

    def message_for(self, api_version: str, kind: str) -> str | None:
        """The message of ``kind`` in ``api_version`` (``v1``, ``apps/v1``), if served."""
        package = self._groups.get(api_version)
        if package is None or not kind:
            return None
        name = f"{package}.{kind}"
        return name if name in self._messages else None


def _fields(rows: list[list[Any]]) -> dict[int, FieldSpec]:
    out = {}
    for number, json_name, ftype, label, flags in rows:
        key, value = ftype if label == "map" else ("", "")
        out[int(number)] = FieldSpec(
            number=int(number),
            json_name=str(json_name),
            type=str(key) if label == "map" else str(ftype),
            repeated=label == "repeated",
            map_value=str(value),
            inline="i" in flags,
            omit_zero="o" in flags,
            pointer="p" in flags,
        )
    return out


@functools.cache
def builtin_tables() -> Tables:
    """The shipped tables (read on first use)."""
    raw = resources.files(__package__).joinpath("data").joinpath(DATA_FILE).read_bytes()
    return Tables(orjson.loads(gzip.decompress(raw)))

"""Parsing request bodies while noticing duplicate keys, which fast parsers drop silently.

``fieldValidation`` must report a field given twice (``duplicate field
"spec.replicas"``), and only the raw text shows that: orjson and the default
loaders keep the last value without a word. These parsers are used only when a
request asks for Strict or Warn validation; they return plain dicts and lists
plus the path of every duplicated key, in the notation of the unknown-field
paths (``spec.template.spec.containers[0].image``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from corral.machinery.openapi.errors import DecodeError

_YamlBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_RESOLVERS = {
    first: [entry for entry in entries if entry[0] != _TIMESTAMP]
    for first, entries in _YamlBase.yaml_implicit_resolvers.items()
}


@dataclass
class Decoded:
    """A parsed body and the paths of the keys it gave more than once."""

    obj: Any
    duplicate_fields: list[str] = field(default_factory=list)


class _Tracker:
    """Remembers, per parsed mapping (by identity), the keys it saw twice."""

    def __init__(self) -> None:
        self.duplicates: dict[int, list[str]] = {}

    def paths(self, root: object) -> list[str]:
        return list(self._walk(root, "")) if self.duplicates else []

    def _walk(self, node: object, path: str) -> Iterator[str]:
        if isinstance(node, dict):
            for key in self.duplicates.get(id(node), ()):
                yield f"{path}.{key}" if path else key
            for key, value in node.items():
                yield from self._walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                yield from self._walk(item, f"{path}[{index}]")


def parse_json(data: bytes | str) -> Decoded:
    """Parse one JSON value; :class:`DecodeError` if it is malformed."""
    tracker = _Tracker()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        dupes: list[str] = []
        for key, value in items:
            if key in out and key not in dupes:
                dupes.append(key)
            out[key] = value
        if dupes:
            tracker.duplicates[id(out)] = dupes
        return out

    try:
        obj = json.loads(data, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(str(exc)) from exc
    return Decoded(obj, tracker.paths(obj))


def parse_yaml(text: bytes | str) -> Decoded:
    """Parse one YAML document; :class:`DecodeError` if it is malformed or several."""
    tracker = _Tracker()

    class Loader(_YamlBase):  # type: ignore[valid-type,misc]
        # YAML 1.1 timestamps stay strings, as sigs.k8s.io/yaml leaves them.
        yaml_implicit_resolvers = _RESOLVERS

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
            self.flatten_mapping(node)
            out: dict[Any, Any] = {}
            dupes: list[str] = []
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError as exc:
                    raise DecodeError(
                        f"unhashable key at line {key_node.start_mark.line + 1}"
                    ) from exc
                if key in out and str(key) not in dupes:
                    dupes.append(str(key))
                out[key] = self.construct_object(value_node, deep=deep)
            if dupes:
                tracker.duplicates[id(out)] = dupes
            return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, Loader.construct_mapping)
    try:
        obj = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise DecodeError(str(exc)) from exc
    except RecursionError as exc:
        raise DecodeError("document nested too deeply") from exc
    return Decoded(obj, tracker.paths(obj))

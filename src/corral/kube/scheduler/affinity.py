"""Node selector terms (``nodeAffinity``), compiled once and matched against nodes.

Kubernetes' rules (``nodeaffinity.NodeSelector``): the terms of a selector
are ORed, the requirements inside a term are ANDed, an empty term matches
nothing. ``matchExpressions`` test labels with ``In``, ``NotIn``, ``Exists``,
``DoesNotExist``, ``Gt`` and ``Lt`` (integers); ``matchFields`` test fields,
of which only ``metadata.name`` is supported (``In``/``NotIn``). A malformed
requirement matches nothing, so a pod asking for something unreadable stays
pending rather than landing anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: frozenset[str]
    number: int | None = None  # the bound of Gt / Lt

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op == "In":
            return self.key in labels and labels[self.key] in self.values
        if op == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        if op in ("Gt", "Lt") and self.number is not None and self.key in labels:
            try:
                value = int(labels[self.key])
            except ValueError:
                return False
            return value > self.number if op == "Gt" else value < self.number
        return False


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    expressions: tuple[Requirement, ...]
    fields: tuple[Requirement, ...]

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        if not self.expressions and not self.fields:
            return False
        if not all(r.matches(labels) for r in self.expressions):
            return False
        return all(r.matches({"metadata.name": name}) for r in self.fields)


_INVALID = Requirement("", "Invalid", frozenset())


def _requirement(raw: object, *, field: bool) -> Requirement:
    if not isinstance(raw, Mapping):
        return _INVALID
    key, op = raw.get("key"), raw.get("operator")
    values = raw.get("values") or []
    if not isinstance(key, str) or not isinstance(op, str) or not isinstance(values, list):
        return _INVALID
    if field and (key != "metadata.name" or op not in ("In", "NotIn")):
        return _INVALID
    strings = frozenset(str(v) for v in values)
    if op in ("Gt", "Lt"):
        try:
            bound = int(values[0]) if len(values) == 1 else None
        except (TypeError, ValueError):
            bound = None
        return Requirement(key, op, strings, bound) if bound is not None else _INVALID
    if op in ("In", "NotIn") and not strings:
        return _INVALID
    if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
        return _INVALID
    return Requirement(key, op, strings)


def compile_terms(terms: Any) -> tuple[NodeSelectorTerm, ...]:
    out: list[NodeSelectorTerm] = []
    for term in terms if isinstance(terms, list) else []:
        if not isinstance(term, Mapping):
            out.append(NodeSelectorTerm((), ()))
            continue
        expressions = tuple(
            _requirement(r, field=False) for r in term.get("matchExpressions") or []
        )
        fields = tuple(_requirement(r, field=True) for r in term.get("matchFields") or [])
        out.append(NodeSelectorTerm(expressions, fields))
    return tuple(out)


def matches_any(terms: tuple[NodeSelectorTerm, ...], name: str, labels: Mapping[str, str]) -> bool:
    return any(term.matches(name, labels) for term in terms)

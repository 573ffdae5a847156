"""Field selectors: the ``fieldSelector`` syntax, its escaping, and matching.

``?fieldSelector=`` filters a LIST or WATCH by a few per-kind fields
(``metadata.name``, ``spec.nodeName``, ``status.phase``, ``involvedObject.kind``…);
kubelets, controllers and kubectl depend on it. This module follows
``k8s.io/apimachinery/pkg/fields``:

- Syntax: terms joined by ``,`` (AND), each ``field=value``, ``field==value``
  (the same) or ``field!=value``. The first operator in a term splits it, so a
  field name cannot contain ``=``; nothing is trimmed, so spaces are part of
  names and values. Empty terms are skipped.
- Escaping: in a value, ``\\``, ``,`` and ``=`` must be written ``\\\\``,
  ``\\,`` and ``\\=``; any other backslash sequence, or a bare ``,``/``=``, is
  an error. (``!`` needs no escape: only the first operator splits a term.
  Kubernetes rejects ``\\!``, and so does this module.)
- Matching: a field an object does not have counts as ``""``, so
  ``spec.nodeName=`` selects unscheduled pods and ``!=`` matches absent fields.
- Which fields a kind supports is the caller's list; a term naming another
  field is refused with Kubernetes' message ``field label not supported: <field>``.
  :func:`field_set` flattens an object into the ``{field: text}`` map matching
  works on.
- Canonical form: terms sorted by field, operator and value; ``==`` is written
  ``=``; so ``parse(str(s)) == s``.

Errors: :class:`~corral.machinery.labels.SelectorError` (a ``ValueError``) for
every bad selector; the API answers it with 400 ``BadRequest``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from corral.machinery.labels import SelectorError

__all__ = [
    "EVERYTHING",
    "Selector",
    "SelectorError",
    "Term",
    "escape_value",
    "field_set",
    "parse",
    "unescape_value",
]

_SPECIAL = frozenset("\\,=")
# At the leftmost position where any operator starts, "!=" wins over "==" over "=".
_OPERATOR_RE = re.compile(r"!=|==|=")


def escape_value(value: str) -> str:
    """``value`` written so that it can stand after an operator in a selector."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(text: str) -> str:
    """The literal value an escaped selector value stands for."""
    if _SPECIAL.isdisjoint(text):
        return text
    out: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            if ch not in _SPECIAL:
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in _SPECIAL:
            raise SelectorError(f"invalid field selector: unescaped character in value: '{ch}'")
        else:
            out.append(ch)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Term:
    """``field=value`` or ``field!=value``; ``==`` is accepted and kept as ``=``."""

    field: str
    operator: str
    value: str

    def __post_init__(self) -> None:
        if self.operator == "==":
            object.__setattr__(self, "operator", "=")
        elif self.operator not in ("=", "!="):
            raise SelectorError(f"invalid field selector operator: {self.operator!r}")

    def matches(self, fields: Mapping[str, str]) -> bool:
        return (fields.get(self.field, "") == self.value) == (self.operator == "=")

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_value(self.value)}"


def _order(term: Term) -> tuple[str, str, str]:
    return (term.field, term.operator, term.value)


@dataclass(frozen=True, slots=True)
class Selector:
    """The AND of its terms; no terms matches everything."""

    terms: tuple[Term, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(sorted(self.terms, key=_order)))

    @property
    def empty(self) -> bool:
        """True if the selector does not restrict anything."""
        return not self.terms

    @property
    def fields(self) -> frozenset[str]:
        """The field names the selector reads."""
        return frozenset(t.field for t in self.terms)

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Whether an object with these field values (see :func:`field_set`) is selected."""
        return all(term.matches(fields) for term in self.terms)

    def requires_exact_match(self, field: str) -> str | None:
        """The value ``field`` must equal for an object to match, if a term pins it."""
        for term in self.terms:
            if term.field == field and term.operator == "=":
                return term.value
        return None

    def check_supported(self, supported: Collection[str]) -> None:
        """Refuse a term on a field the kind does not offer, as Kubernetes words it."""
        for term in self.terms:
            if term.field not in supported:
                raise SelectorError(f"field label not supported: {term.field}")

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)

    def __repr__(self) -> str:
        return f"Selector({str(self)!r})"


EVERYTHING = Selector()


def _split_terms(text: str) -> list[str]:
    """Split at commas that are not escaped; escapes stay in the pieces."""
    terms: list[str] = []
    start, escaped = 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def parse(text: str, supported: Collection[str] | None = None) -> Selector:
    """Parse a ``fieldSelector`` string; with ``supported``, refuse other fields too."""
    terms: list[Term] = []
    for part in _split_terms(text):
        if not part:
            continue
        found = _OPERATOR_RE.search(part)
        if found is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, value = part[: found.start()], unescape_value(part[found.end() :])
        terms.append(Term(field, found.group(), value))
    selector = Selector(tuple(terms))
    if supported is not None:
        selector.check_supported(supported)
    return selector


def _text(value: object) -> str:
    """A field's value as selectors compare it: absent is ``""``, booleans are words."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return ""  # None, or a list or map, which no field selector can name


def _lookup(obj: Mapping[str, object], path: str) -> object:
    current: object = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def field_set(
    obj: Mapping[str, object], fields: Iterable[str] | Mapping[str, str]
) -> dict[str, str]:
    """The flat ``{field: text}`` map a selector matches ``obj`` by.

    ``fields`` lists dotted paths (``["metadata.name", "spec.nodeName"]``), or
    maps a selector field name to the path it reads (Events select
    ``source`` from ``source.component``). Every listed field is present in
    the result; a missing one is ``""``.
    """
    pairs = fields.items() if isinstance(fields, Mapping) else ((f, f) for f in fields)
    return {name: _text(_lookup(obj, path)) for name, path in pairs}

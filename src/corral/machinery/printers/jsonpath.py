"""The JSONPath subset that CRD printer columns use, compiled once and evaluated per object.

``additionalPrinterColumns[].jsonPath`` is Kubernetes JSONPath
(``k8s.io/client-go/util/jsonpath``) without the surrounding braces, evaluated
with missing keys allowed. Columns in the wild use a small part of it, which is
what this module supports:

- fields: ``.spec.replicas``, ``.metadata.labels.app\\.kubernetes\\.io/name``
  (``\\.`` escapes a dot), ``['key.with.dots']`` / ``["key"]``, and a leading ``$``;
- indexes ``[0]`` and ``[-1]``, wildcards ``[*]`` and ``.*``, recursive descent
  ``..name``;
- filters ``[?(@.type=="Ready")]`` with ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``
  against a quoted string, a number, ``true``/``false``, or ``[?(@.field)]``
  for existence.

A path yields every value it reaches, in document order (map keys sorted);
a printer column shows the first. A missing key, an index out of range, or a
step applied to the wrong kind of value yields nothing rather than an error, as
``AllowMissingKeys(true)`` makes Kubernetes print an empty cell.

Errors: :class:`JSONPathError` (a :class:`~corral.machinery.printers.columns.TableError`)
for a path this subset cannot parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from corral.machinery.printers.columns import TableError


class JSONPathError(TableError):
    """A JSONPath expression outside the supported subset."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str


@dataclass(frozen=True, slots=True)
class Recursive:
    name: str


@dataclass(frozen=True, slots=True)
class Wildcard:
    pass


@dataclass(frozen=True, slots=True)
class Index:
    index: int


@dataclass(frozen=True, slots=True)
class Filter:
    path: tuple[Step, ...]
    operator: str | None
    value: object


Step = Field | Recursive | Wildcard | Index | Filter

_FIELD = re.compile(r"(?:\\.|[\w\-/:$])+")
_LITERAL = re.compile(
    r"""\s*(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<number>-?\d+(?:\.\d+)?)|(?P<bool>true|false))\s*$"""
)
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")


def _field_name(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> JSONPathError:
        return JSONPathError(f"unsupported JSONPath {self.text!r} at {self.pos}: {why}")

    def parse(self) -> tuple[Step, ...]:
        text = self.text.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1].strip()
        self.text = text
        if text.startswith("$"):
            self.pos = 1
        steps: list[Step] = []
        while self.pos < len(text):
            steps.append(self.step())
        return tuple(steps)

    def step(self) -> Step:
        text = self.text
        if text.startswith("..", self.pos):
            self.pos += 2
            return Recursive(self.field_name())
        if text[self.pos] == ".":
            self.pos += 1
            if text.startswith("*", self.pos):
                self.pos += 1
                return Wildcard()
            return Field(self.field_name())
        if text[self.pos] == "[":
            return self.bracket()
        raise self.fail("expected '.' or '['")

    def field_name(self) -> str:
        match = _FIELD.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a field name")
        self.pos = match.end()
        return _field_name(match.group())

    def bracket(self) -> Step:
        end = self.closing_bracket()
        inner = self.text[self.pos + 1 : end].strip()
        self.pos = end + 1
        if inner == "*":
            return Wildcard()
        if re.fullmatch(r"-?\d+", inner):
            return Index(int(inner))
        if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
            return Field(inner[1:-1])
        if inner.startswith("?(") and inner.endswith(")"):
            return self.filter(inner[2:-1].strip())
        raise self.fail(f"unsupported subscript [{inner}]")

    def closing_bracket(self) -> int:
        depth, quote = 0, ""
        for i in range(self.pos, len(self.text)):
            char = self.text[i]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
                if depth == 0:
                    return i
        raise self.fail("unterminated '['")

    def filter(self, expression: str) -> Filter:
        for operator in _OPERATORS:
            left, found, right = expression.partition(operator)
            if found:
                return Filter(self.relative(left.strip()), operator, self.literal(right))
        return Filter(self.relative(expression), None, None)

    def relative(self, path: str) -> tuple[Step, ...]:
        if not path.startswith("@"):
            raise self.fail("a filter must test '@'")
        return _Parser("$" + path[1:]).parse()

    def literal(self, text: str) -> object:
        match = _LITERAL.match(text)
        if match is None:
            raise self.fail(f"unsupported filter value {text.strip()!r}")
        if match.group("single") is not None:
            return match.group("single")
        if match.group("double") is not None:
            return match.group("double")
        if match.group("bool") is not None:
            return match.group("bool") == "true"
        number = match.group("number")
        return float(number) if "." in number else int(number)


def compile_path(text: str) -> tuple[Step, ...]:
    """Parse a JSONPath expression (with or without braces) into its steps."""
    return _Parser(text).parse()


def _descendants(value: object) -> Iterator[object]:
    yield value
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from _descendants(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from _descendants(item)


def _compare(left: object, operator: str, right: object) -> bool:
    numeric = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        comparable = isinstance(left, bool) and isinstance(right, bool)
    else:
        comparable = (isinstance(left, numeric) and isinstance(right, numeric)) or (
            isinstance(left, str) and isinstance(right, str)
        )
    if operator == "==":
        return comparable and left == right
    if operator == "!=":
        return not comparable or left != right
    if not comparable or isinstance(left, bool):
        return False
    a: Any = left
    b: Any = right
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator])


def _apply(step: Step, value: object) -> Iterator[object]:
    if isinstance(step, Field):
        if isinstance(value, Mapping) and step.name in value:
            yield value[step.name]
    elif isinstance(step, Recursive):
        for node in _descendants(value):
            if isinstance(node, Mapping) and step.name in node:
                yield node[step.name]
    elif isinstance(step, Wildcard):
        if isinstance(value, Mapping):
            yield from (value[key] for key in sorted(value))
        elif isinstance(value, list):
            yield from value
    elif isinstance(step, Index):
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            yield value[step.index]
    elif isinstance(value, list):
        for item in value:
            found = find(step.path, item)
            if step.operator is None:
                if found:
                    yield item
            elif any(_compare(left, step.operator, step.value) for left in found):
                yield item


def find(steps: tuple[Step, ...], document: object) -> list[object]:
    """Every value ``steps`` reach from ``document``, in order."""
    current = [document]
    for step in steps:
        current = [found for value in current for found in _apply(step, value)]
    return current

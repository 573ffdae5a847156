"""Label selectors: the ``labelSelector`` string syntax, ``metav1.LabelSelector``, matching.

Every LIST and WATCH may carry ``?labelSelector=``, and Deployments, Services,
ReplicaSets and quotas pick their objects with a ``metav1.LabelSelector``, so
both forms must parse, validate and match exactly as in Kubernetes
(``k8s.io/apimachinery/pkg/labels``). What this module decides:

- Grammar: requirements joined by ``,`` (AND): ``k=v``, ``k==v``, ``k!=v``,
  ``k in (a,b)``, ``k notin (a)``, ``k`` (exists), ``!k`` (does not exist), and
  Kubernetes' integer comparisons ``k>5``, ``k<5``. Spaces, tabs and newlines
  between tokens are ignored; ``in``/``notin`` are keywords only where an
  operator is expected, so ``in in (notin)`` is legal. Empty values are allowed
  (``k=``, ``k in (,a)``).
- Validation: keys are qualified names (optional lowercase DNS-subdomain prefix
  of at most 253 bytes, ``/``, a name of at most 63 bytes of ``[A-Za-z0-9._-]``
  beginning and ending alphanumeric); values are empty or such a name. Messages
  are Kubernetes' own.
- Canonical form: requirements sorted by key (then operator and values), set
  values sorted and de-duplicated, so ``str`` and ``==`` are stable and
  ``parse(str(s)) == s``.
- ``EVERYTHING`` matches all label sets; ``NOTHING`` (what a null
  ``LabelSelector`` means) matches none. As in Kubernetes, ``str(NOTHING)`` is
  ``""``, which parses back to ``EVERYTHING``: never send it as a query.

Errors: :class:`SelectorError` (a ``ValueError``), raised for every bad selector;
its ``errors`` hold the :class:`~corral.machinery.status.FieldError` values when
the problem is one of validation, so an object's invalid selector can become a
422 ``Invalid``; a bad query string becomes a 400 ``BadRequest``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from corral.machinery.status import FieldError, field_errors_message


class SelectorError(ValueError):
    """A selector that does not parse or is not valid."""

    def __init__(self, message: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.errors = tuple(errors)

    @classmethod
    def of(cls, errors: list[FieldError]) -> SelectorError:
        return cls(field_errors_message(errors), errors)


class Operator(StrEnum):
    """``selection.Operator``: how a requirement relates its key and values."""

    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_SET_OPERATORS = frozenset({Operator.IN, Operator.NOT_IN})
_POSITIVE = frozenset({Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS})
_NEGATIVE = frozenset({Operator.NOT_IN, Operator.NOT_EQUALS})
_EXACT = frozenset({Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS})
_COMPARISONS = frozenset({Operator.GREATER_THAN, Operator.LESS_THAN})

# ---- validation (k8s.io/apimachinery/pkg/api/validate/content) ----

_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_VALUE_FMT = f"({_NAME_FMT})?"
_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, " + (
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = rf"{_DNS_LABEL_FMT}(\.{_DNS_LABEL_FMT})*"
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_NAME_RE = re.compile(_NAME_FMT)
_VALUE_RE = re.compile(_VALUE_FMT)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN_FMT)
_INT_RE = re.compile(r"[+-]?[0-9]+")


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    shown = "".join(f"'{e}', " if i == 0 else f" or '{e}', " for i, e in enumerate(examples))
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _too_long(value: str, limit: int) -> bool:
    """Longer than ``limit`` UTF-8 bytes (Go measures strings in bytes)."""
    return len(value) > limit or (not value.isascii() and len(value.encode()) > limit)


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Why ``value`` is not a lowercase RFC 1123 subdomain (empty list: it is)."""
    errors = ["must be no more than 253 bytes"] if _too_long(value, 253) else []
    if not _SUBDOMAIN_RE.fullmatch(value):
        errors.append(_regex_error(_SUBDOMAIN_MSG, _SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key_errors(key: str) -> list[str]:
    """Why ``key`` is not a valid label key (a qualified name); empty list: it is."""
    errors: list[str] = []
    parts = key.split("/")
    if len(parts) > 2:
        return [
            "a valid label key "
            + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + m for m in dns1123_subdomain_errors(parts[0]))
    if not name:
        errors.append("name part must be non-empty")
    elif _too_long(name, 63):
        errors.append("name part must be no more than 63 bytes")
    if not _NAME_RE.fullmatch(name):
        errors.append(
            "name part " + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    """Why ``value`` is not a valid label value; empty list: it is."""
    errors = ["must be no more than 63 bytes"] if _too_long(value, 63) else []
    if not _VALUE_RE.fullmatch(value):
        errors.append(_regex_error(_VALUE_MSG, _VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def validate_labels(labels: object, path: str = "metadata.labels") -> list[FieldError]:
    """Kubernetes' ``ValidateLabels``: every error is reported at ``path`` itself."""
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [FieldError.type_invalid(path, labels, "must be of type object")]
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors.extend(FieldError.invalid(path, key, m) for m in label_key_errors(str(key)))
        if not isinstance(value, str):
            errors.append(FieldError.type_invalid(path, value, "must be of type string"))
        else:
            errors.extend(FieldError.invalid(path, value, m) for m in label_value_errors(value))
    return errors


def _go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)``, or None where Go would fail."""
    if not _INT_RE.fullmatch(text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


# ---- requirements and selectors ----


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term of a selector; construction validates it (``labels.NewRequirement``)."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        raw: object = self.values  # a lone string is one value, not its characters
        values = (raw,) if isinstance(raw, str) else tuple(self.values)
        try:
            op = Operator(self.operator)
        except ValueError:
            supported = [str(o) for o in Operator]
            raise SelectorError.of(
                [FieldError.not_supported("operator", str(self.operator), supported)]
            ) from None
        if op in _SET_OPERATORS:
            values = tuple(sorted(set(values)))
        object.__setattr__(self, "operator", op)
        object.__setattr__(self, "values", values)
        errors = _requirement_errors(self.key, op, values)
        if errors:
            raise SelectorError.of(errors)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this requirement (a missing key satisfies ``!=``)."""
        op = self.operator
        if op is Operator.EXISTS:
            return self.key in labels
        if op is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        value = labels.get(self.key)
        if op in _POSITIVE:
            return value is not None and value in self.values
        if op in _NEGATIVE:
            return value is None or value not in self.values
        have = None if value is None else _go_int(value)
        want = _go_int(self.values[0])
        if have is None or want is None:
            return False
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        if op in _SET_OPERATORS:
            return f"{self.key} {op.value} ({','.join(self.values)})"
        symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
        return f"{self.key}{symbol}{self.values[0]}"


def _requirement_errors(key: str, op: Operator, values: tuple[str, ...]) -> list[FieldError]:
    errors: list[FieldError] = []
    key_errors = label_key_errors(key)
    if key_errors:
        errors.append(FieldError.invalid("key", key, "; ".join(key_errors)))
    if op in _SET_OPERATORS and not values:
        detail = "for 'in', 'notin' operators, values set can't be empty"
        errors.append(FieldError.invalid("values", list(values), detail))
    elif op in _EXACT and len(values) != 1:
        detail = "exact-match compatibility requires one single value"
        errors.append(FieldError.invalid("values", list(values), detail))
    elif op in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
        detail = "values set must be empty for exists and does not exist"
        errors.append(FieldError.invalid("values", list(values), detail))
    elif op in _COMPARISONS:
        if len(values) != 1:
            detail = "for 'Gt', 'Lt' operators, exactly one value is required"
            errors.append(FieldError.invalid("values", list(values), detail))
        for i, value in enumerate(values):
            if _go_int(value) is None:
                detail = "for 'Gt', 'Lt' operators, the value must be an integer"
                errors.append(FieldError.invalid(f"values[{i}]", value, detail))
    for i, value in enumerate(values):
        value_errors = label_value_errors(value)
        if value_errors:
            errors.append(FieldError.invalid(f"values[{i}]", value, "; ".join(value_errors)))
    return errors


def _order(r: Requirement) -> tuple[str, str, tuple[str, ...]]:
    return (r.key, r.operator.value, r.values)


@dataclass(frozen=True, slots=True)
class Selector:
    """The AND of its requirements; ``nothing`` makes it match no label set at all."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def __post_init__(self) -> None:
        ordered = () if self.nothing else tuple(sorted(self.requirements, key=_order))
        object.__setattr__(self, "requirements", ordered)

    @property
    def empty(self) -> bool:
        """True if the selector does not restrict anything (it matches every label set)."""
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing:
            return False
        return all(requirement.matches(labels) for requirement in self.requirements)

    def add(self, *requirements: Requirement) -> Selector:
        """A new selector that also demands ``requirements``."""
        return Selector(self.requirements + requirements, self.nothing)

    def requires_exact_match(self, key: str) -> str | None:
        """The one value ``key`` must have for a label set to match, if the selector pins it."""
        for requirement in self.requirements:
            pinned = requirement.operator in _POSITIVE and len(requirement.values) == 1
            if pinned and requirement.key == key:
                return requirement.values[0]
        return None

    def equality_terms(self) -> tuple[tuple[str, str], ...]:
        """Every ``(key, value)`` the selector pins, for looking matches up in an index."""
        return tuple(
            (r.key, r.values[0])
            for r in self.requirements
            if r.operator in _POSITIVE and len(r.values) == 1
        )

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "Selector(nothing=True)" if self.nothing else f"Selector({str(self)!r})"


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def from_set(labels: Mapping[str, str]) -> Selector:
    """The selector matching label sets that contain all of ``labels`` (validated)."""
    return Selector(tuple(Requirement(k, Operator.EQUALS, (v,)) for k, v in labels.items()))


_EXPRESSION_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


def from_label_selector(selector: object, path: str = "") -> Selector:
    """A ``metav1.LabelSelector`` dict as a selector; null matches nothing, ``{}`` everything.

    Validation follows Kubernetes' ``ValidateLabelSelector``; errors name fields
    under ``path`` (for example ``spec.selector``).
    """
    if selector is None:
        return NOTHING
    prefix = f"{path}." if path else ""
    if not isinstance(selector, Mapping):
        error = FieldError.type_invalid(path or "selector", selector, "must be of type object")
        raise SelectorError.of([error])
    errors: list[FieldError] = []
    requirements: list[Requirement] = []
    match_labels = selector.get("matchLabels") or {}
    label_errors = validate_labels(match_labels, f"{prefix}matchLabels")
    errors.extend(label_errors)
    if not label_errors:
        requirements.extend(from_set(match_labels).requirements)
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        where = f"{prefix}matchExpressions"
        errors.append(FieldError.type_invalid(where, expressions, "must be of type array"))
        expressions = []
    for i, expression in enumerate(expressions):
        where = f"{prefix}matchExpressions[{i}]"
        found = _expression_errors(expression, where)
        errors.extend(found)
        if not found:
            operator = _EXPRESSION_OPERATORS[expression["operator"]]
            values = tuple(expression.get("values") or ())
            requirements.append(Requirement(expression["key"], operator, values))
    if errors:
        raise SelectorError.of(errors)
    return Selector(tuple(requirements))


def _expression_errors(expression: object, where: str) -> list[FieldError]:
    if not isinstance(expression, Mapping):
        return [FieldError.type_invalid(where, expression, "must be of type object")]
    errors: list[FieldError] = []
    operator, key = expression.get("operator"), expression.get("key")
    values = expression.get("values") or []
    if operator is not None and not isinstance(operator, str):  # a list or map: unhashable
        errors.append(
            FieldError.type_invalid(f"{where}.operator", operator, "must be of type string")
        )
    elif operator in ("In", "NotIn") and not values:
        detail = "must be specified when `operator` is 'In' or 'NotIn'"
        errors.append(FieldError.required(f"{where}.values", detail))
    elif operator in ("Exists", "DoesNotExist") and values:
        detail = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        errors.append(FieldError.forbidden(f"{where}.values", detail))
    elif operator not in _EXPRESSION_OPERATORS:
        errors.append(
            FieldError.invalid(f"{where}.operator", operator, "not a valid selector operator")
        )
    if not isinstance(key, str):
        errors.append(FieldError.type_invalid(f"{where}.key", key, "must be of type string"))
    else:
        errors.extend(FieldError.invalid(f"{where}.key", key, m) for m in label_key_errors(key))
    if not isinstance(values, list):
        return [
            *errors,
            FieldError.type_invalid(f"{where}.values", values, "must be of type array"),
        ]
    for j, value in enumerate(values):
        at = f"{where}.values[{j}]"
        if not isinstance(value, str):
            errors.append(FieldError.type_invalid(at, value, "must be of type string"))
        else:
            errors.extend(FieldError.invalid(at, value, m) for m in label_value_errors(value))
    return errors


# ---- the string syntax ----

_IDENT, _END = "identifier", "end of string"
_TOKEN_RE = re.compile(r"[ \t\r\n]*(?:(==|!=|[=!(),<>])|([^ \t\r\n=!(),<>]+))?")
_BINARY = {
    "in": Operator.IN,
    "notin": Operator.NOT_IN,
    "=": Operator.EQUALS,
    "==": Operator.DOUBLE_EQUALS,
    "!=": Operator.NOT_EQUALS,
    ">": Operator.GREATER_THAN,
    "<": Operator.LESS_THAN,
}


def _lex(text: str) -> list[tuple[str, str]]:
    """(kind, literal) tokens; ``in``/``notin`` get their own kind, specials are their own."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = _TOKEN_RE.match(text, pos)
        assert m is not None  # the pattern can match the empty string
        pos = m.end()
        if m.group(1):
            tokens.append((m.group(1), m.group(1)))
        elif m.group(2):
            word = m.group(2)
            tokens.append((word if word in ("in", "notin") else _IDENT, word))
        else:
            tokens.append((_END, ""))
            return tokens


def _is_ident(kind: str) -> bool:
    return kind in (_IDENT, "in", "notin")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def next(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    @staticmethod
    def fail(token: tuple[str, str], expected: str) -> SelectorError:
        shown = _END if token[0] == _END else f"'{token[1]}'"
        return SelectorError(f"found {shown}, expected: {expected}")

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        token = self.peek()
        if token[0] == _END:
            return requirements
        if not (_is_ident(token[0]) or token[0] == "!"):
            raise self.fail(token, "!, identifier, or 'end of string'")
        while True:
            try:
                requirements.append(self.requirement())
            except SelectorError as e:
                raise SelectorError(f"unable to parse requirement: {e}", e.errors) from None
            token = self.next()
            if token[0] == _END:
                return requirements
            if token[0] != ",":
                raise self.fail(token, "',' or 'end of string'")
            token = self.peek()
            if not (_is_ident(token[0]) or token[0] == "!"):
                raise self.fail(token, "identifier after ','")

    def requirement(self) -> Requirement:
        token = self.next()
        negated = token[0] == "!"
        if negated:
            token = self.next()
        if not _is_ident(token[0]):
            raise self.fail(token, "identifier")
        key = token[1]
        key_errors = label_key_errors(key)
        if key_errors:
            raise SelectorError.of([FieldError.invalid("key", key, "; ".join(key_errors))])
        if negated:
            return Requirement(key, Operator.DOES_NOT_EXIST)
        if self.peek()[0] in (_END, ","):
            return Requirement(key, Operator.EXISTS)
        token = self.next()
        operator = _BINARY.get(token[0])
        if operator is None:
            raise self.fail(token, "in, notin, =, ==, !=, >, <")
        if operator in _SET_OPERATORS:
            return Requirement(key, operator, self.value_set())
        return Requirement(key, operator, (self.exact_value(),))

    def value_set(self) -> tuple[str, ...]:
        token = self.next()
        if token[0] != "(":
            raise self.fail(token, "'('")
        values: list[str] = []
        expecting = True  # a value may come next; an empty slot counts as ""
        while True:
            token = self.next()
            if expecting and _is_ident(token[0]):
                values.append(token[1])
                expecting = False
            elif token[0] in (",", ")"):
                if expecting:
                    values.append("")
                if token[0] == ")":
                    return tuple(values)
                expecting = True
            else:
                raise self.fail(token, "',', ')' or identifier" if expecting else "',' or ')'")

    def exact_value(self) -> str:
        if self.peek()[0] in (_END, ","):
            return ""
        token = self.next()
        if not _is_ident(token[0]):
            raise self.fail(token, "identifier")
        return token[1]


def parse(text: str) -> Selector:
    """Parse a ``labelSelector`` string; ``""`` is ``EVERYTHING``."""
    return Selector(tuple(_Parser(text).parse()))

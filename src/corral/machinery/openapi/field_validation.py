"""What ``fieldValidation=Strict|Warn|Ignore`` makes of unknown and duplicate fields.

Kubernetes (1.27+) finds fields a schema does not know and keys given twice,
and the request's directive decides: ``Strict`` fails the request with 400
BadRequest (``strict decoding error: unknown field "spec.foo", duplicate field
"spec.replicas"``), ``Warn`` (the server's default) succeeds with one
``Warning`` header per field, ``Ignore`` succeeds silently. In every case the
unknown fields are dropped from the stored object (see ``prune`` of the
validator).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from corral.machinery.status import BadRequest


class FieldValidation(StrEnum):
    """The ``fieldValidation`` query parameter."""

    STRICT = "Strict"
    WARN = "Warn"
    IGNORE = "Ignore"


def parse_field_validation(value: str | None) -> FieldValidation:
    """The directive a request asks for; unset means ``Warn``, as in kube-apiserver."""
    if not value:
        return FieldValidation.WARN
    try:
        return FieldValidation(value)
    except ValueError:
        raise BadRequest(
            f'fieldValidation parameter unsupported: "{value}"; '
            "supported values: Ignore, Strict, Warn"
        ) from None


def field_problems(unknown: Sequence[str], duplicates: Sequence[str]) -> list[str]:
    """One message per problem, duplicates first, in Kubernetes' wording."""
    return [f'duplicate field "{p}"' for p in duplicates] + [
        f'unknown field "{p}"' for p in unknown
    ]


def apply_field_validation(
    directive: FieldValidation,
    unknown: Sequence[str],
    duplicates: Sequence[str] = (),
    *,
    context: str = "",
) -> list[str]:
    """The warnings to send; raises :class:`BadRequest` under ``Strict`` if there are problems.

    ``context`` prefixes the Strict message, as kube-apiserver does for built-in
    kinds: ``Deployment in version "v1" cannot be handled as a Deployment``.
    """
    if directive is FieldValidation.IGNORE:
        return []
    problems = field_problems(unknown, duplicates)
    if not problems:
        return []
    if directive is FieldValidation.STRICT:
        message = "strict decoding error: " + ", ".join(problems)
        raise BadRequest(f"{context}: {message}" if context else message)
    return problems


def decoding_context(kind: str, version: str) -> str:
    """The prefix kube-apiserver puts before decoding errors of a built-in kind."""
    return f'{kind} in version "{version}" cannot be handled as a {kind}'

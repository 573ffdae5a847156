"""What every controller with a pod template shares: its selector and its template.

Decides, as Kubernetes' apps and batch validation do: the selector is
required, a valid LabelSelector and (for most kinds) not empty; the template's
labels must match it (Kubernetes' "`selector` does not match template
`labels`", reported at ``spec.template.metadata.labels``); the template is a valid pod
template; integer-or-percent fields are a count or ``N%``.
"""

from __future__ import annotations

import re

from corral.machinery.labels import Selector, SelectorError, _regex_error, from_label_selector
from corral.machinery.status import FieldError
from corral.machinery.validation.common import NONNEGATIVE, Obj, is_int, items, join, mapping
from corral.machinery.validation.pods import validate_pod_template

MISMATCH = "`selector` does not match template `labels`"
_PERCENT_FMT = "[0-9]+%"
_PERCENT_RE = re.compile(_PERCENT_FMT)
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"


def parse_selector(
    spec: Obj, path: str, errors: list[FieldError], empty_kind: str = ""
) -> Selector | None:
    """``spec.selector`` as a Selector (None when missing or invalid, errors appended).

    ``empty_kind`` names the kind in Kubernetes' ``empty selector is invalid for …``
    message; without it an empty selector is allowed."""
    where = join(path, "selector")
    raw = spec.get("selector")
    if raw is None:
        errors.append(FieldError.required(where))
        return None
    selector, found = label_selector(raw, where)
    errors.extend(found)
    if selector is None:
        return None
    if empty_kind and selector.empty:
        errors.append(FieldError.invalid(where, raw, f"empty selector is invalid for {empty_kind}"))
    return selector


def label_selector(raw: object, path: str) -> tuple[Selector | None, list[FieldError]]:
    """A ``metav1.LabelSelector`` parsed and validated, or None with the errors.

    An operator that is not a string is reported here: the selector parser
    expects the schema layer to have caught it."""
    for i, expression in enumerate(items(mapping(raw).get("matchExpressions"))):
        operator = mapping(expression).get("operator")
        if operator is not None and not isinstance(operator, str):
            where = f"{path}.matchExpressions[{i}].operator"
            return None, [FieldError.type_invalid(where, operator, "must be of type string")]
    try:
        return from_label_selector(raw, path), []
    except SelectorError as e:
        return None, list(e.errors)


def template_labels(spec: Obj) -> Obj:
    return mapping(mapping(mapping(spec.get("template")).get("metadata")).get("labels"))


def selector_matches_template(
    selector: Selector | None, spec: Obj, path: str, empty_matches: bool = True
) -> list[FieldError]:
    """The template's labels must satisfy the selector (an empty one matches only when
    ``empty_matches``, as for the apps kinds; a Job's must not be empty)."""
    if selector is None or (selector.empty and empty_matches):
        return []
    labels = template_labels(spec)
    if selector.empty or not selector.matches(labels):
        return [FieldError.invalid(join(path, "template.metadata.labels"), labels, MISMATCH)]
    return []


def validate_always_restart_template(
    spec: Obj, path: str, claim_volumes: frozenset[str] = frozenset()
) -> list[FieldError]:
    """The template of a ReplicaSet, Deployment, DaemonSet or StatefulSet (whose claim
    templates, ``claim_volumes``, count as volumes)."""
    template = spec.get("template")
    where = join(path, "template")
    errors = validate_pod_template(template, where, claim_volumes)
    pod_spec = mapping(mapping(template).get("spec"))
    policy = pod_spec.get("restartPolicy")
    if isinstance(template, dict) and policy != "Always":
        errors.append(
            FieldError.not_supported(join(where, "spec.restartPolicy"), policy or "", ["Always"])
        )
    return errors


def int_or_percent_errors(value: object, path: str) -> list[FieldError]:
    """``ValidatePositiveIntOrPercent`` and ``IsNotMoreThan100Percent``."""
    if value is None:
        return []
    if isinstance(value, str):
        if not _PERCENT_RE.fullmatch(value):
            return [
                FieldError.invalid(
                    path, value, _regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%")
                )
            ]
        return []
    if is_int(value):
        return [FieldError.invalid(path, value, NONNEGATIVE)] if value < 0 else []
    return [FieldError.invalid(path, value, "must be an integer or percentage (e.g '5%')")]


def not_more_than_100_percent(value: object, path: str) -> list[FieldError]:
    if isinstance(value, str) and _PERCENT_RE.fullmatch(value) and int(value[:-1]) > 100:
        return [FieldError.invalid(path, value, "must not be greater than 100%")]
    return []


def int_or_percent_value(value: object) -> int:
    """``getIntOrPercentValue``: the number, with or without its ``%``."""
    if is_int(value):
        return value
    if isinstance(value, str) and _PERCENT_RE.fullmatch(value):
        return int(value[:-1])
    return 0

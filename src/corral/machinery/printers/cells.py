"""Reading plain-dict objects and formatting the cell values printers share.

Objects reach the printers as parsed JSON, possibly without the defaults the
API would add, so every read here tolerates a missing or mistyped field and
falls back to the Go zero value (``0``, ``""``, empty list or map) — the value
the Kubernetes printer would see for an unset field. The formatting helpers are
the small ones several printers use: ``labels.FormatLabels``, a LabelSelector
as its canonical string, the comma-joined container names and images of a pod
template, and "a,b,c + 2 more..." lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral.machinery import labels


def dig(obj: object, *path: str) -> object:
    """The value at ``path`` inside nested mappings, or None where the path breaks."""
    current = obj
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def text(obj: object, *path: str) -> str:
    """A string field, "" when unset."""
    value = dig(obj, *path)
    return value if isinstance(value, str) else ""


def integer(obj: object, *path: str) -> int:
    """An integer field, 0 when unset."""
    value = dig(obj, *path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


def items(obj: object, *path: str) -> list[Any]:
    """A list field, [] when unset."""
    value = dig(obj, *path)
    return list(value) if isinstance(value, list) else []


def mapping(obj: object, *path: str) -> Mapping[str, Any]:
    """A map field, {} when unset."""
    value = dig(obj, *path)
    return value if isinstance(value, Mapping) else {}


def has(obj: object, *path: str) -> bool:
    """Whether the field is set (not missing and not null)."""
    return dig(obj, *path) is not None


def name(obj: object) -> str:
    return text(obj, "metadata", "name")


def format_labels(values: Mapping[str, Any]) -> str:
    """``labels.FormatLabels``: "k=v" pairs sorted by key, "<none>" when empty."""
    if not values:
        return "<none>"
    return ",".join(f"{k}={values[k]}" for k in sorted(values))


def selector_string(selector: object) -> str:
    """``LabelSelectorAsSelector(s).String()``: "" for a null or empty selector."""
    try:
        return str(labels.from_label_selector(selector))
    except labels.SelectorError:
        return "<error>"


def format_label_selector(selector: object) -> str:
    """``metav1.FormatLabelSelector``: like :func:`selector_string`, "<none>" when empty."""
    return selector_string(selector) or "<none>"


def container_cells(containers: Sequence[Any]) -> list[str]:
    """``layoutContainerCells``: container names and images, each comma-joined."""
    names = ",".join(text(c, "name") for c in containers)
    images = ",".join(text(c, "image") for c in containers)
    return [names, images]


def with_more(values: Sequence[str], total: int, limit: int = 3, empty: str = "") -> str:
    """The first ``limit`` values joined by commas, "+ N more..." when there were more."""
    joined = ",".join(values[:limit])
    if total > limit:
        return f"{joined} + {total - limit} more..."
    return joined or empty


def condition_status(conditions: Sequence[Any], kind: str) -> str:
    """The status of the first condition of type ``kind``, "" when there is none."""
    for condition in conditions:
        if text(condition, "type") == kind:
            return text(condition, "status")
    return ""

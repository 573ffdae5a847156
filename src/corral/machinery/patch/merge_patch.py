"""JSON Merge Patch (RFC 7386, `application/merge-patch+json`).

The patch format of `kubectl patch --type=merge` and the only one that works on
custom resources besides JSON Patch: objects merge key by key, `null` deletes a
key, and anything else (arrays included) replaces the value. This module also
computes the smallest merge patch between two documents, which three-way apply
for custom resources builds on.

Known limit of the format itself: a `null` *value* cannot be set by a merge
patch (null means delete), so `create_merge_patch` cannot express objects that
hold nulls; arrays are opaque and may hold anything.
"""

from __future__ import annotations

from typing import Any

from ._json import JSONValue, deep_copy, json_equal, type_name
from .errors import InvalidPatchError

__all__ = ["apply_merge_patch", "create_merge_patch"]


def apply_merge_patch(target: JSONValue, patch: Any, *, require_object: bool = True) -> JSONValue:
    """Apply the RFC 7386 `patch` to `target` and return the result.

    With `require_object` (the default, as for Kubernetes objects) a patch that
    is not a JSON object is an `InvalidPatchError`; without it, such a patch
    replaces the target, exactly as the RFC says. `target` is not modified and
    the result shares no dict or list with `target` or `patch`.
    """
    if require_object and not isinstance(patch, dict):
        raise InvalidPatchError(f"a merge patch must be a JSON object, not {type_name(patch)}")
    return _merge(target, patch)


def _merge(target: JSONValue, patch: JSONValue) -> JSONValue:
    if not isinstance(patch, dict):
        return deep_copy(patch)
    base: dict[str, Any] = target if isinstance(target, dict) else {}
    # Keys the patch touches are filled in below; copying them here would be wasted work.
    result = {k: (v if k in patch else deep_copy(v)) for k, v in base.items()}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(base.get(key), value)
    return result


def create_merge_patch(original: JSONValue, modified: JSONValue) -> JSONValue:
    """Return the smallest merge patch that turns `original` into `modified`.

    When both are objects the patch is an object holding only what changed
    (removed keys as `null`); otherwise the patch is `modified` itself.
    `apply_merge_patch(original, create_merge_patch(original, modified))`
    equals `modified` whenever `modified` holds no `null` inside an object.
    """
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return deep_copy(modified)
    return _diff(original, modified)


def _diff(original: dict[str, Any], modified: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key in original:
        if key not in modified:
            patch[key] = None
    for key, new in modified.items():
        if key not in original:
            if new is not None:
                patch[key] = deep_copy(new)
            continue
        old = original[key]
        if isinstance(new, dict) and isinstance(old, dict):
            sub = _diff(old, new)
            if sub:
                patch[key] = sub
        elif not json_equal(old, new):
            patch[key] = deep_copy(new)
    return patch

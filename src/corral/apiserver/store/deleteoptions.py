"""DeleteOptions: reading and checking them, and the finalizers they ask for.

A DELETE's options arrive as the JSON of a ``meta.k8s.io/v1`` DeleteOptions
(the handler builds it from the body, or from the query when the body is
empty). `parse_delete_options` checks them as Kubernetes'
``ValidateDeleteOptions`` does:

- a field of the wrong JSON type is 400 BadRequest (the body does not
  decode);
- ``orphanDependents`` together with ``propagationPolicy`` is 422 Invalid on
  ``propagationPolicy`` ("cannot be both set"); a policy other than
  ``Foreground``, ``Background``, ``Orphan`` is 422 NotSupported on
  ``propagationPolicy``; a ``dryRun`` other than ``["All"]`` is 422 on
  ``dryRun``;
- a negative ``gracePeriodSeconds`` counts as 1 (``rest.BeforeDelete``).

`gc_finalizers` is Kubernetes' ``deletionFinalizersForGarbageCollection``:
the deprecated ``orphanDependents`` wins (true: orphan, false: background),
then ``propagationPolicy``, then whichever of ``orphan`` /
``foregroundDeletion`` the object already has, then the kind's default —
Background for every kind Corral serves. So a delete with ``Orphan`` adds
``orphan``, ``Foreground`` adds ``foregroundDeletion``, and ``Background``
on an object that has either removes it. The garbage collector
(``corral.kube``) acts on these finalizers; this module only sets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.machinery.status import BadRequest, FieldError, Invalid

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
_GC_FINALIZERS = (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)
ORPHAN, BACKGROUND, FOREGROUND = "Orphan", "Background", "Foreground"
PROPAGATION_POLICIES = (FOREGROUND, BACKGROUND, ORPHAN)
_META_GROUP = "meta.k8s.io"


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    """The checked options of one DELETE."""

    #: None: the kind's default (a pod's terminationGracePeriodSeconds).
    grace_period_seconds: int | None = None
    orphan_dependents: bool | None = None
    propagation_policy: str | None = None
    preconditions: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False


def _typed(raw: Mapping[str, Any], key: str, kind: type, name: str) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(
            f"json: cannot unmarshal {type(value).__name__} into Go struct field "
            f"DeleteOptions.{key} of type {name}"
        )
    return value


def parse_delete_options(raw: Mapping[str, Any]) -> DeleteOptions:
    """The options in DeleteOptions JSON ``raw``; 400 or 422 as Kubernetes answers."""
    grace = _typed(raw, "gracePeriodSeconds", int, "int64")
    orphan = _typed(raw, "orphanDependents", bool, "bool")
    policy = _typed(raw, "propagationPolicy", str, "v1.DeletionPropagation")
    pre = _typed(raw, "preconditions", dict, "v1.Preconditions") or {}
    dry = _typed(raw, "dryRun", list, "[]string") or []
    errors: list[FieldError] = []
    if orphan is not None and policy is not None:
        errors.append(
            FieldError.invalid(
                "propagationPolicy",
                policy,
                "orphanDependents and deletionPropagation cannot be both set",
            )
        )
    if policy is not None and policy not in PROPAGATION_POLICIES:
        errors.append(
            FieldError.not_supported("propagationPolicy", policy, [*PROPAGATION_POLICIES, "nil"])
        )
    if any(v != "All" for v in dry):
        errors.append(FieldError.not_supported("dryRun", dry, ["All"]))
    if errors:
        raise Invalid("DeleteOptions", "", errors, group=_META_GROUP)
    if grace is not None and grace < 0:
        grace = 1
    return DeleteOptions(grace, orphan, policy, pre, bool(dry))


def _should_orphan(finalizers: list[str], options: DeleteOptions) -> bool:
    if options.orphan_dependents is not None:
        return options.orphan_dependents
    if options.propagation_policy is not None:
        return options.propagation_policy == ORPHAN
    for f in finalizers:
        if f in _GC_FINALIZERS:
            return f == ORPHAN_FINALIZER
    return False


def _should_delete_dependents(finalizers: list[str], options: DeleteOptions) -> bool:
    if options.orphan_dependents is not None:
        return False
    if options.propagation_policy is not None:
        return options.propagation_policy == FOREGROUND
    for f in finalizers:
        if f in _GC_FINALIZERS:
            return f == FOREGROUND_FINALIZER
    return False


def gc_finalizers(finalizers: list[str], options: DeleteOptions) -> list[str] | None:
    """The finalizers ``options`` ask for, or None when they are the same set already."""
    orphan = _should_orphan(finalizers, options)
    foreground = _should_delete_dependents(finalizers, options)
    wanted = [f for f in finalizers if f not in _GC_FINALIZERS]
    if orphan:
        wanted.append(ORPHAN_FINALIZER)
    if foreground:
        wanted.append(FOREGROUND_FINALIZER)
    return None if set(wanted) == set(finalizers) else wanted

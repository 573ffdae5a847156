"""Semantic rules for apps/v1 Deployments, ReplicaSets, StatefulSets and DaemonSets.

What it decides (``pkg/apis/apps/validation``, Kubernetes 1.32): replicas and
history limits are not negative; the selector is required, not empty and
matches the template's labels; templates restart ``Always``; rollout
strategies are known types with sane surge/unavailable values; a Deployment's
progress deadline exceeds its minReadySeconds. On update the selector is
immutable (``field is immutable``) for Deployments, ReplicaSets and
DaemonSets, and a StatefulSet may change only replicas, ordinals, template,
updateStrategy, revisionHistoryLimit, persistentVolumeClaimRetentionPolicy
and minReadySeconds.
"""

from __future__ import annotations

from corral.machinery.status import FieldError
from corral.machinery.validation.common import (
    Obj,
    immutable,
    is_int,
    items,
    join,
    mapping,
    nonnegative,
    text,
)
from corral.machinery.validation.workloads import (
    int_or_percent_errors,
    int_or_percent_value,
    not_more_than_100_percent,
    parse_selector,
    selector_matches_template,
    validate_always_restart_template,
)

STATEFUL_SET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
STATEFUL_SET_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
    "'minReadySeconds' are forbidden"
)


def _replica_set_like(spec: Obj, empty_kind: str) -> list[FieldError]:
    """``ValidateReplicaSetSpec``'s core, shared with Deployments."""
    errors = nonnegative(spec.get("replicas"), "spec.replicas")
    errors.extend(nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    selector = parse_selector(spec, "spec", errors, empty_kind)
    errors.extend(selector_matches_template(selector, spec, "spec"))
    errors.extend(validate_always_restart_template(spec, "spec"))
    deadline = mapping(mapping(spec.get("template")).get("spec")).get("activeDeadlineSeconds")
    if deadline is not None:
        where = "spec.template.spec.activeDeadlineSeconds"
        errors.append(
            FieldError.forbidden(where, "activeDeadlineSeconds in ReplicaSet is not Supported")
        )
    return errors


def validate_replica_set(obj: Obj) -> list[FieldError]:
    return _replica_set_like(mapping(obj.get("spec")), "deployment")


def validate_deployment(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    errors = _replica_set_like(spec, "deployment")
    errors.extend(_deployment_strategy(mapping(spec.get("strategy")), "spec.strategy"))
    errors.extend(nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds")
    if is_int(deadline):
        where = "spec.progressDeadlineSeconds"
        if deadline <= 0:
            errors.append(FieldError.invalid(where, deadline, "must be greater than zero"))
        elif is_int(ready) and deadline <= ready:
            errors.append(
                FieldError.invalid(where, deadline, "must be greater than minReadySeconds")
            )
    return errors


def _deployment_strategy(strategy: Obj, path: str) -> list[FieldError]:
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            detail = "may not be specified when strategy `type` is 'Recreate'"
            return [FieldError.forbidden(join(path, "rollingUpdate"), detail)]
        return []
    if kind == "RollingUpdate":
        if not isinstance(rolling, dict):
            detail = "this should be defaulted and never be nil"
            return [FieldError.required(join(path, "rollingUpdate"), detail)]
        where = join(path, "rollingUpdate")
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        errors = int_or_percent_errors(unavailable, join(where, "maxUnavailable"))
        errors.extend(int_or_percent_errors(surge, join(where, "maxSurge")))
        if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
            detail = "may not be 0 when `maxSurge` is 0"
            errors.append(FieldError.invalid(join(where, "maxUnavailable"), unavailable, detail))
        errors.extend(not_more_than_100_percent(unavailable, join(where, "maxUnavailable")))
        return errors
    return [FieldError.not_supported(path, strategy, ["Recreate", "RollingUpdate"])]


def validate_daemon_set(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    errors: list[FieldError] = []
    selector = parse_selector(spec, "spec", errors, "daemonset")
    errors.extend(selector_matches_template(selector, spec, "spec"))
    errors.extend(validate_always_restart_template(spec, "spec"))
    errors.extend(nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    errors.extend(nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
    strategy, path = mapping(spec.get("updateStrategy")), "spec.updateStrategy"
    kind = strategy.get("type")
    if kind == "RollingUpdate":
        rolling, where = mapping(strategy.get("rollingUpdate")), join(path, "rollingUpdate")
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        errors.extend(int_or_percent_errors(unavailable, join(where, "maxUnavailable")))
        errors.extend(int_or_percent_errors(surge, join(where, "maxSurge")))
        errors.extend(not_more_than_100_percent(unavailable, join(where, "maxUnavailable")))
        errors.extend(not_more_than_100_percent(surge, join(where, "maxSurge")))
        has_unavailable = int_or_percent_value(unavailable) != 0
        has_surge = int_or_percent_value(surge) != 0
        if has_unavailable and has_surge:
            detail = "may not be set when maxUnavailable is non-zero"
            errors.append(FieldError.invalid(join(where, "maxSurge"), surge, detail))
        elif not has_unavailable and not has_surge:
            errors.append(
                FieldError.required(join(where, "maxUnavailable"), "cannot be 0 when maxSurge is 0")
            )
    elif kind != "OnDelete":
        errors.append(
            FieldError.not_supported(join(path, "type"), kind or "", ["OnDelete", "RollingUpdate"])
        )
    return errors


def validate_stateful_set(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    errors: list[FieldError] = []
    policy = spec.get("podManagementPolicy")
    if not policy:
        errors.append(FieldError.required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        detail = "must be 'OrderedReady' or 'Parallel'"
        errors.append(FieldError.invalid("spec.podManagementPolicy", policy, detail))
    strategy = mapping(spec.get("updateStrategy"))
    kind = strategy.get("type")
    if not kind:
        errors.append(FieldError.required("spec.updateStrategy"))
    elif kind == "OnDelete" and strategy.get("rollingUpdate") is not None:
        detail = "only allowed for updateStrategy 'RollingUpdate'"
        path = "spec.updateStrategy.rollingUpdate"
        errors.append(FieldError.invalid(path, strategy["rollingUpdate"], detail))
    elif kind == "RollingUpdate":
        partition = mapping(strategy.get("rollingUpdate")).get("partition")
        errors.extend(nonnegative(partition, "spec.updateStrategy.rollingUpdate.partition"))
    elif kind != "OnDelete":
        detail = "must be 'RollingUpdate' or 'OnDelete'"
        errors.append(FieldError.invalid("spec.updateStrategy", strategy, detail))
    errors.extend(nonnegative(spec.get("replicas"), "spec.replicas"))
    errors.extend(nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    errors.extend(nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
    selector = parse_selector(spec, "spec", errors, "statefulset")
    errors.extend(selector_matches_template(selector, spec, "spec"))
    claims = frozenset(
        text(mapping(mapping(claim).get("metadata")).get("name"))
        for claim in items(spec.get("volumeClaimTemplates"))
    )
    errors.extend(validate_always_restart_template(spec, "spec", claims))
    deadline = mapping(mapping(spec.get("template")).get("spec")).get("activeDeadlineSeconds")
    if deadline is not None:
        where = "spec.template.spec.activeDeadlineSeconds"
        errors.append(FieldError.invalid(where, deadline, "must not be specified"))
    return errors


def selector_immutable(new: Obj, old: Obj) -> list[FieldError]:
    """apps/v1 Deployments, ReplicaSets and DaemonSets: ``spec.selector`` never changes."""
    new_selector = mapping(new.get("spec")).get("selector")
    old_selector = mapping(old.get("spec")).get("selector")
    return immutable(new_selector, old_selector, "spec.selector")


def validate_stateful_set_update(new: Obj, old: Obj) -> list[FieldError]:
    new_spec, old_spec = mapping(new.get("spec")), mapping(old.get("spec"))
    rest_new = {k: v for k, v in new_spec.items() if k not in STATEFUL_SET_MUTABLE}
    rest_old = {k: v for k, v in old_spec.items() if k not in STATEFUL_SET_MUTABLE}
    if rest_new != rest_old:
        return [FieldError.forbidden("spec", STATEFUL_SET_FORBIDDEN)]
    return []

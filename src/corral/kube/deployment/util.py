"""Pure Deployment arithmetic: annotations, revisions, fenceposts, counts, conditions.

Kubernetes' ``deployment/util`` package, on plain dicts. Everything here is a
function of the objects given (no API calls), so the rollout logic in
`corral.kube.deployment.controller` reads like Kubernetes' and the numbers
can be tested alone: how ``maxSurge``/``maxUnavailable`` round (surge up,
unavailable down, both zero means one unavailable), how a scale is shared
proportionally among ReplicaSets, which ReplicaSet is the new one, and the
``Progressing``/``Available`` condition rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from corral.kube.intorpercent import scaled
from corral.kube.podstatus import format_time, parse_time
from corral.kube.templatehash import equal_ignore_hash

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
#: Deployment annotations never copied onto its ReplicaSets.
ANNOTATIONS_TO_SKIP = frozenset(
    {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
)
#: The longest ``revision-history`` annotation kept (``maxRevHistoryLengthInChars``).
MAX_REVISION_HISTORY_CHARS = 2000
#: ``progressDeadlineSeconds`` meaning "no deadline" (MaxInt32).
NO_DEADLINE = 2**31 - 1

# Condition types and reasons (``deployment/util``).
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
RS_UPDATED_REASON = "ReplicaSetUpdated"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
PAUSED_REASON = "DeploymentPaused"
RESUMED_REASON = "DeploymentResumed"
MIN_AVAILABLE_REASON = "MinimumReplicasAvailable"
MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable"


# -- small accessors ---------------------------------------------------------


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    value = meta(obj).get("annotations")
    return value if isinstance(value, dict) else {}


def replicas(obj: Mapping[str, Any]) -> int:
    """``spec.replicas`` (1 when unset, as defaulting makes it)."""
    value = spec(obj).get("replicas")
    return int(value) if isinstance(value, int) else 1


def status_int(obj: Mapping[str, Any], name: str) -> int:
    value = status(obj).get(name)
    return int(value) if isinstance(value, int) else 0


def created(obj: Mapping[str, Any]) -> float:
    moment = parse_time(meta(obj).get("creationTimestamp"))
    return moment.timestamp() if moment is not None else 0.0


def revision(obj: Mapping[str, Any]) -> int:
    """The ``deployment.kubernetes.io/revision`` of an object (0 if absent or not a number)."""
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: Iterable[Mapping[str, Any]]) -> int:
    return max((revision(rs) for rs in rss), default=0)


# -- strategy fenceposts ------------------------------------------------------


def is_rolling_update(d: Mapping[str, Any]) -> bool:
    kind = (spec(d).get("strategy") or {}).get("type", "RollingUpdate")
    return bool(kind == "RollingUpdate")


def scaled_value(value: object, total: int, round_up: bool) -> int:
    """`corral.kube.intorpercent.scaled`, raising ValueError for what it cannot read."""
    number = scaled(value.strip() if isinstance(value, str) else value, total, round_up)
    if number is None:
        raise ValueError(f"invalid value {value!r}: neither an integer nor a percentage")
    return number


def resolve_fenceposts(d: Mapping[str, Any]) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers of pods (``ResolveFenceposts``)."""
    rolling = (spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(d)
    surge_value = rolling.get("maxSurge", "25%")
    unavailable_value = rolling.get("maxUnavailable", "25%")
    surge = scaled_value(0 if surge_value is None else surge_value, desired, True)
    unavailable = scaled_value(
        0 if unavailable_value is None else unavailable_value, desired, False
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d):
        return 0
    return resolve_fenceposts(d)[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    return min(resolve_fenceposts(d)[1], replicas(d))


# -- ReplicaSet sets ------------------------------------------------------------


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first, ties by name (``ReplicaSetsByCreationTimestamp``)."""
    return sorted(rss, key=lambda rs: (created(rs), meta(rs).get("name", "")))


def by_size_newer(rss: Sequence[Obj]) -> list[Obj]:
    """Largest first; equal sizes newest first (``ReplicaSetsBySizeNewer``)."""
    ordered = list(reversed(by_creation(rss)))
    return sorted(ordered, key=lambda rs: -replicas(rs))


def by_size_older(rss: Sequence[Obj]) -> list[Obj]:
    """Largest first; equal sizes oldest first (``ReplicaSetsBySizeOlder``)."""
    return sorted(by_creation(rss), key=lambda rs: -replicas(rs))


def by_revision(rss: Iterable[Obj]) -> list[Obj]:
    """Lowest revision first, then oldest (``ReplicaSetsByRevision``)."""
    return sorted(by_creation(rss), key=revision)


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    """ReplicaSets that want pods (``FilterActiveReplicaSets``)."""
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def find_new(d: Mapping[str, Any], rss: Iterable[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template equals the Deployment's (``FindNewReplicaSet``)."""
    template = spec(d).get("template") or {}
    for rs in by_creation(rss):
        if equal_ignore_hash(spec(rs).get("template") or {}, template):
            return rs
    return None


def sum_spec(rss: Iterable[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def sum_status(rss: Iterable[Obj | None], name: str) -> int:
    return sum(status_int(rs, name) for rs in rss if rs is not None)


# -- annotations --------------------------------------------------------------


def _annotations_for_write(obj: Obj) -> dict[str, str]:
    m = obj.setdefault("metadata", {})
    found = m.get("annotations")
    if isinstance(found, dict):
        return found
    fresh: dict[str, str] = {}
    m["annotations"] = fresh
    return fresh


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    notes = _annotations_for_write(rs)
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if notes.get(key) != value:
            notes[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    notes = annotations_of(rs)
    return notes.get(DESIRED_REPLICAS) != str(desired) or notes.get(MAX_REPLICAS) != str(maximum)


def int_annotation(rs: Mapping[str, Any], key: str) -> int | None:
    text = annotations_of(rs).get(key)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
    """``SetNewReplicaSetAnnotations``: copy the Deployment's annotations, raise the
    revision (keeping the earlier ones in ``revision-history`` on a rollback) and, for a
    ReplicaSet about to be created, the replicas annotations."""
    notes = _annotations_for_write(rs)
    changed = False
    for key, value in annotations_of(d).items():
        if key in ANNOTATIONS_TO_SKIP or notes.get(key) == value:
            continue
        notes[key] = value
        changed = True
    old_text = notes.get(REVISION)
    had_revision = old_text is not None
    try:
        old = int(old_text) if old_text is not None else 0
    except ValueError:
        return changed
    new = int(new_revision)
    if old < new:
        notes[REVISION] = new_revision
        changed = True
        if had_revision and old_text is not None:
            history = notes.get(REVISION_HISTORY, "")
            if not history:
                notes[REVISION_HISTORY] = old_text
            else:
                parts = history.split(",")
                total = len(history) + len(old_text) + 1
                start = 0
                while total > MAX_REVISION_HISTORY_CHARS and start < len(parts):
                    total -= len(parts[start]) + 1
                    start += 1
                if total <= MAX_REVISION_HISTORY_CHARS:
                    notes[REVISION_HISTORY] = ",".join([*parts[start:], old_text])
    desired = replicas(d)
    if not exists and set_replicas_annotations(rs, desired, desired + max_surge(d)):
        changed = True
    return changed


# -- proportional scaling ------------------------------------------------------


def round_half_away(value: float) -> int:
    """Go's ``math.Round``: halves away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def proportion(d: Obj, rs: Obj | None, to_add: int, added: int) -> int:
    """``GetProportion``: how many replicas ``rs`` gains (or loses) of a scale of ``to_add``."""
    if rs is None or replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(d, rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(d: Obj, rs: Obj) -> int:
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = int_annotation(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_int(d, "replicas")
    if annotated == 0:
        return 0
    size = replicas(rs) * deployment_replicas / annotated
    return round_half_away(size) - replicas(rs)


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = int_annotation(rs, DESIRED_REPLICAS)
    want = replicas(d)
    return (
        desired is not None
        and replicas(rs) == want
        and desired == want
        and status_int(rs, "availableReplicas") == want
    )


def new_rs_new_replicas(d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj) -> int:
    """``NewRSNewReplicas``: the size the new ReplicaSet may grow to now."""
    if not is_rolling_update(d):
        return replicas(d)
    surge = scaled_value(
        ((spec(d).get("strategy") or {}).get("rollingUpdate") or {}).get("maxSurge", "25%"),
        replicas(d),
        True,
    )
    current = sum_spec(all_rss)
    max_total = replicas(d) + surge
    if current >= max_total:
        return replicas(new_rs)
    scale_up = min(max_total - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + scale_up


# -- conditions ------------------------------------------------------------------


def has_progress_deadline(d: Mapping[str, Any]) -> bool:
    deadline = spec(d).get("progressDeadlineSeconds")
    return isinstance(deadline, int) and deadline != NO_DEADLINE


def new_condition(
    type_: str, status_: str, reason: str, message: str, now: datetime
) -> dict[str, Any]:
    stamp = format_time(now)
    return {
        "type": type_,
        "status": status_,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(st: Mapping[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in st.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def set_condition(st: dict[str, Any], cond: dict[str, Any]) -> None:
    """``SetDeploymentCondition``: nothing when status and reason are unchanged; the
    transition time is kept when only the reason changes; the condition moves last."""
    current = get_condition(st, cond["type"])
    if current is not None and current.get("status") == cond["status"]:
        if current.get("reason") == cond["reason"]:
            return
        cond["lastTransitionTime"] = current.get("lastTransitionTime", cond["lastTransitionTime"])
    rest = [c for c in st.get("conditions") or [] if c.get("type") != cond["type"]]
    st["conditions"] = [*rest, cond]


def remove_condition(st: dict[str, Any], type_: str) -> None:
    conditions = [c for c in st.get("conditions") or [] if c.get("type") != type_]
    if conditions:
        st["conditions"] = conditions
    else:
        st.pop("conditions", None)


def rs_condition_to_deployment(cond: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": cond.get("type"),
        "status": cond.get("status"),
        "lastUpdateTime": cond.get("lastTransitionTime"),
        "lastTransitionTime": cond.get("lastTransitionTime"),
        "reason": cond.get("reason"),
        "message": cond.get("message"),
    }


# -- status ------------------------------------------------------------------------

_STATUS_COUNTS = (
    "observedGeneration",
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
)


def clean_status(st: Mapping[str, Any]) -> dict[str, Any]:
    """The status as Kubernetes serializes it: zero counts and empty lists left out."""
    out = {}
    for key, value in st.items():
        if key in _STATUS_COUNTS and not value:
            continue
        if key in ("conditions", "collisionCount") and value in (None, []):
            continue
        out[key] = value
    return out


def calculate_status(
    d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj | None, now: datetime
) -> Obj:
    """``calculateStatus``: counts from the ReplicaSets, and the Available condition."""
    available = sum_status(all_rss, "availableReplicas")
    unavailable = max(sum_spec(all_rss) - available, 0)
    st: Obj = {
        "observedGeneration": meta(d).get("generation", 0),
        "replicas": sum_status(all_rss, "replicas"),
        "updatedReplicas": sum_status([new_rs], "replicas"),
        "readyReplicas": sum_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": unavailable,
    }
    collisions = status(d).get("collisionCount")
    if collisions is not None:
        st["collisionCount"] = collisions
    conditions = [dict(c) for c in status(d).get("conditions") or []]
    if conditions:
        st["conditions"] = conditions
    if available >= replicas(d) - max_unavailable(d):
        cond = new_condition(
            AVAILABLE, "True", MIN_AVAILABLE_REASON, "Deployment has minimum availability.", now
        )
    else:
        cond = new_condition(
            AVAILABLE,
            "False",
            MIN_UNAVAILABLE_REASON,
            "Deployment does not have minimum availability.",
            now,
        )
    set_condition(st, cond)
    return st


def deployment_complete(d: Mapping[str, Any], st: Mapping[str, Any]) -> bool:
    want = replicas(d)
    return bool(
        st.get("updatedReplicas", 0) == want
        and st.get("replicas", 0) == want
        and st.get("availableReplicas", 0) == want
        and st.get("observedGeneration", 0) >= meta(d).get("generation", 0)
    )


def deployment_progressing(d: Mapping[str, Any], st: Mapping[str, Any]) -> bool:
    old = status(d)
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = st.get("replicas", 0) - st.get("updatedReplicas", 0)
    return bool(
        st.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
        or new_old < old_old
        or st.get("readyReplicas", 0) > old.get("readyReplicas", 0)
        or st.get("availableReplicas", 0) > old.get("availableReplicas", 0)
    )


def deployment_timed_out(d: Mapping[str, Any], st: Mapping[str, Any], now: datetime) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(st, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since.timestamp() + int(spec(d)["progressDeadlineSeconds"]) < now.timestamp()

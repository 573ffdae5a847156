"""A StatefulSet pod's identity and storage, as pure functions.

A StatefulSet's promise is that pod ``web-2`` is always ``web-2``: the same
name, hostname and subdomain (``web-2.<serviceName>``), the same labels
naming it and its ordinal, and the same PersistentVolumeClaims
(``<claim>-web-2``) whatever happens to the pod. This module builds that
pod from a set and a revision (`new_pod`), tells whether an existing pod
still matches it (`identity_matches`, `storage_matches`) and fixes it
(`fix_identity`), and decides the claims and their owner references under
``persistentVolumeClaimRetentionPolicy`` (`claims_for`, `claim_owner_refs`).
No I/O: `corral.kube.statefulset.control` does the writes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from corral.kube.controllerref import controller_ref
from corral.kube.podstatus import is_pod_available, is_pod_ready
from corral.kube.revisions import POD_REVISION_LABEL

Obj = dict[str, Any]

KIND = "StatefulSet"
API_VERSION = "apps/v1"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
RETAIN = "Retain"
DELETE = "Delete"

_ORDINAL = re.compile(r"^(.*)-(\d+)$")


def spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def replicas(sts: Mapping[str, Any]) -> int:
    value = spec(sts).get("replicas")
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def start_ordinal(sts: Mapping[str, Any]) -> int:
    ordinals = spec(sts).get("ordinals") or {}
    value = ordinals.get("start") if isinstance(ordinals, Mapping) else None
    return value if isinstance(value, int) and value > 0 else 0


def parent_and_ordinal(pod: Mapping[str, Any]) -> tuple[str, int]:
    """``("web", 2)`` for ``web-2``; ``("", -1)`` when the name has no ordinal."""
    found = _ORDINAL.match(str(meta(pod).get("name") or ""))
    if found is None:
        return "", -1
    return found.group(1), int(found.group(2))


def ordinal_of(pod: Mapping[str, Any]) -> int:
    return parent_and_ordinal(pod)[1]


def is_member(sts: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """The pod's name is ``<set>-<ordinal>`` (``isMemberOf``)."""
    return parent_and_ordinal(pod)[0] == meta(sts).get("name")


def in_range(sts: Mapping[str, Any], ordinal: int) -> bool:
    start = start_ordinal(sts)
    return start <= ordinal < start + replicas(sts)


def pod_name(sts: Mapping[str, Any], ordinal: int) -> str:
    return f"{meta(sts).get('name')}-{ordinal}"


def claim_name(template_name: str, sts: Mapping[str, Any], ordinal: int) -> str:
    return f"{template_name}-{pod_name(sts, ordinal)}"


def revision_of(pod: Mapping[str, Any]) -> str:
    return str((meta(pod).get("labels") or {}).get(POD_REVISION_LABEL) or "")


# -- pod health ------------------------------------------------------------------


def is_created(pod: Mapping[str, Any]) -> bool:
    """The API server (and a kubelet) has seen it: it has a phase."""
    return bool((pod.get("status") or {}).get("phase"))


def is_terminating(pod: Mapping[str, Any]) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def is_finished(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def is_running_and_ready(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_ready(pod)


def is_running_and_available(pod: Mapping[str, Any], min_ready: int, now: datetime) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_pod_available(
        pod, min_ready, now
    )


def is_healthy(pod: Mapping[str, Any]) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)


# -- claims --------------------------------------------------------------------


def claims_for(sts: Mapping[str, Any], ordinal: int) -> dict[str, Obj]:
    """The claims of ordinal ``ordinal``, by template name (``getPersistentVolumeClaims``)."""
    match_labels = (spec(sts).get("selector") or {}).get("matchLabels") or {}
    out: dict[str, Obj] = {}
    for template in spec(sts).get("volumeClaimTemplates") or []:
        if not isinstance(template, Mapping):
            continue
        tmeta = template.get("metadata") or {}
        name = str(tmeta.get("name") or "")
        if not name:
            continue
        claim_meta: Obj = {
            "name": claim_name(name, sts, ordinal),
            "namespace": meta(sts).get("namespace", ""),
            "labels": {**(tmeta.get("labels") or {}), **match_labels},
        }
        if tmeta.get("annotations"):
            claim_meta["annotations"] = copy.deepcopy(tmeta["annotations"])
        out[name] = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": claim_meta,
            "spec": copy.deepcopy(template.get("spec") or {}),
        }
    return out


def retention_policy(sts: Mapping[str, Any]) -> tuple[str, str]:
    """(whenDeleted, whenScaled), ``Retain`` unless set to ``Delete``."""
    policy = spec(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    deleted = DELETE if policy.get("whenDeleted") == DELETE else RETAIN
    scaled = DELETE if policy.get("whenScaled") == DELETE else RETAIN
    return deleted, scaled


def claim_owner_refs(claim: Mapping[str, Any], sts: Obj, pod: Obj) -> list[Obj] | None:
    """The claim's new ``ownerReferences`` under the set's retention policy, or None when
    they are already right (``updateClaimOwnerRefForSetAndPod``).

    whenDeleted=Delete: the set owns the claims of pods in range (the garbage collector
    deletes them with the set); whenScaled=Delete: a pod scaled away owns its claims (they
    go with the pod). A reference is a controller reference unless another object
    already controls the claim.
    """
    when_deleted, when_scaled = retention_policy(sts)
    scaled_down = not in_range(sts, ordinal_of(pod))
    want_set = when_deleted == DELETE and not (scaled_down and when_scaled == DELETE)
    want_pod = when_scaled == DELETE and scaled_down
    refs = [dict(r) for r in meta(claim).get("ownerReferences") or [] if isinstance(r, Mapping)]
    changed = False
    for owner, kind, api_version, wanted in (
        (sts, KIND, API_VERSION, want_set),
        (pod, "Pod", "v1", want_pod),
    ):
        uid = meta(owner).get("uid")
        present = [r for r in refs if r.get("uid") == uid]
        if wanted and not present:
            ref = controller_ref(owner, api_version, kind)
            if any(r.get("controller") is True for r in refs):
                ref.pop("controller")
                ref.pop("blockOwnerDeletion")
            refs.append(ref)
            changed = True
        elif not wanted and present:
            refs = [r for r in refs if r.get("uid") != uid]
            changed = True
    return refs if changed else None


# -- the pod ---------------------------------------------------------------------


def new_pod(sts: Obj, revision_set: Obj, revision_name: str, ordinal: int) -> Obj:
    """Pod ``ordinal`` of ``sts`` from ``revision_set``'s template, labelled with
    ``revision_name`` (``newVersionedStatefulSetPod``)."""
    template = spec(revision_set).get("template") or {}
    tmeta = template.get("metadata") or {}
    pod_meta: Obj = {
        "name": pod_name(sts, ordinal),
        "namespace": meta(sts).get("namespace", ""),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [controller_ref(sts, API_VERSION, KIND)],
    }
    for field in ("annotations", "finalizers"):
        if tmeta.get(field):
            pod_meta[field] = copy.deepcopy(tmeta[field])
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    fix_identity(sts, pod)
    fix_storage(sts, pod)
    pod_meta["labels"][POD_REVISION_LABEL] = revision_name
    return pod


def identity_matches(sts: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    parent, ordinal = parent_and_ordinal(pod)
    labels = meta(pod).get("labels") or {}
    pod_spec = spec(pod)
    service = spec(sts).get("serviceName") or ""
    return (
        ordinal >= 0
        and parent == meta(sts).get("name")
        and meta(pod).get("namespace") == meta(sts).get("namespace")
        and labels.get(POD_NAME_LABEL) == meta(pod).get("name")
        and labels.get(POD_INDEX_LABEL) == str(ordinal)
        and pod_spec.get("hostname") == meta(pod).get("name")
        and (pod_spec.get("subdomain") or "") == service
    )


def identity_labels(pod: Mapping[str, Any]) -> dict[str, str]:
    """The pod's labels with the name-derived ones set right."""
    labels = dict(meta(pod).get("labels") or {})
    labels[POD_NAME_LABEL] = str(meta(pod).get("name") or "")
    labels[POD_INDEX_LABEL] = str(ordinal_of(pod))
    return labels


def labels_match(pod: Mapping[str, Any]) -> bool:
    return identity_labels(pod) == dict(meta(pod).get("labels") or {})


def fix_identity(sts: Mapping[str, Any], pod: Obj) -> None:
    """Name-derived labels, hostname and subdomain (``updateIdentity``)."""
    name = meta(pod)["name"]
    labels = pod["metadata"].setdefault("labels", {})
    labels[POD_NAME_LABEL] = name
    labels[POD_INDEX_LABEL] = str(ordinal_of(pod))
    pod_spec = pod.setdefault("spec", {})
    pod_spec["hostname"] = name
    service = spec(sts).get("serviceName") or ""
    if service:
        pod_spec["subdomain"] = service
    else:
        pod_spec.pop("subdomain", None)


def storage_matches(sts: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    ordinal = ordinal_of(pod)
    volumes = {v.get("name"): v for v in spec(pod).get("volumes") or [] if isinstance(v, Mapping)}
    for name, claim in claims_for(sts, ordinal).items():
        volume = volumes.get(name) or {}
        source = volume.get("persistentVolumeClaim") or {}
        if source.get("claimName") != claim["metadata"]["name"]:
            return False
    return True


def fix_storage(sts: Mapping[str, Any], pod: Obj) -> None:
    """Volumes named after the claim templates point at this ordinal's claims
    (``updateStorage``)."""
    claims = claims_for(sts, ordinal_of(pod))
    if not claims:
        return
    pod_spec = pod.setdefault("spec", {})
    kept = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
    pod_spec["volumes"] = [
        {"name": name, "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}
        for name, claim in claims.items()
    ] + kept

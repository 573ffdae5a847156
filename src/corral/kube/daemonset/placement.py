"""Which nodes a DaemonSet runs on, and the pod it puts there (pure functions).

Kubernetes' ``NodeShouldRunDaemonPod`` answers two questions per node:
*should* a daemon pod run there (a new one may be created), and may one
that is already there *continue* running. The pod the DaemonSet would
create decides both:

- ``nodeSelector`` and required node affinity must match the node
  (`corral.kube.scheduler.affinity`), else neither;
- a ``NoSchedule``/``NoExecute`` taint the pod does not tolerate stops new
  pods; only an untolerated ``NoExecute`` taint also evicts running ones.

The pod carries the tolerations Kubernetes adds to every daemon pod (a
daemon must survive its node becoming not ready, unreachable, under
pressure or cordoned: ``AddOrUpdateDaemonPodTolerations``), the label
``controller-revision-hash`` of its revision, and a required node affinity
on ``metadata.name`` for exactly its node — Kubernetes' way since 1.12: the
scheduler binds daemon pods like any other pod.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from corral.kube.controllerref import controller_ref
from corral.kube.revisions import POD_REVISION_LABEL
from corral.kube.scheduler.affinity import compile_terms, matches_any
from corral.kube.taints import NO_EXECUTE, NO_SCHEDULE, node_taints, tolerated

Obj = dict[str, Any]

KIND = "DaemonSet"
API_VERSION = "apps/v1"
#: The annotation Kubernetes' API server keeps the template generation in.
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
#: The (deprecated) pod label with that generation.
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
_NAME_FIELD = "metadata.name"

#: Tolerations every daemon pod gets (key, effect).
DAEMON_TOLERATIONS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", NO_EXECUTE),
    ("node.kubernetes.io/unreachable", NO_EXECUTE),
    ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/unschedulable", NO_SCHEDULE),
)
#: And pods on the host network also this one.
HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", NO_SCHEDULE)


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def add_daemon_tolerations(pod_spec: Obj) -> None:
    """Add (or replace) the tolerations Kubernetes gives every daemon pod."""
    wanted = list(DAEMON_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        wanted.append(HOST_NETWORK_TOLERATION)
    tolerations: list[Obj] = [t for t in pod_spec.get("tolerations") or [] if isinstance(t, dict)]
    for key, effect in wanted:
        toleration = {"key": key, "operator": "Exists", "effect": effect}
        same = [
            i
            for i, t in enumerate(tolerations)
            if t.get("key") == key
            and t.get("effect") == effect
            and (t.get("operator") or "Equal") == "Exists"
        ]
        if same:
            tolerations[same[0]] = toleration
        else:
            tolerations.append(toleration)
    pod_spec["tolerations"] = tolerations


def pod_template(ds: Mapping[str, Any], hash_: str) -> Obj:
    """The DaemonSet's template as its pods get it (``CreatePodTemplate``)."""
    template = copy.deepcopy(dict(spec(ds).get("template") or {}))
    tmeta = template.setdefault("metadata", {})
    labels = tmeta.setdefault("labels", {})
    labels[POD_REVISION_LABEL] = hash_
    generation = (meta(ds).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    if generation:
        labels[TEMPLATE_GENERATION_LABEL] = str(generation)
    add_daemon_tolerations(template.setdefault("spec", {}))
    return template


def node_affinity_for(affinity: Mapping[str, Any] | None, node_name: str) -> Obj:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: required terms become one term matching
    only ``node_name``; everything else in the affinity is kept."""
    out = copy.deepcopy(dict(affinity or {}))
    node_affinity = out.setdefault("nodeAffinity", {})
    term = {"matchFields": [{"key": _NAME_FIELD, "operator": "In", "values": [node_name]}]}
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    return out


def new_pod(ds: Obj, template: Mapping[str, Any], node_name: str) -> Obj:
    """A daemon pod of ``ds`` for ``node_name``, from ``pod_template``'s result."""
    tmeta = template.get("metadata") or {}
    pod_meta: Obj = {
        "generateName": f"{meta(ds)['name']}-",
        "namespace": meta(ds).get("namespace", ""),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [controller_ref(ds, API_VERSION, KIND)],
    }
    for field in ("annotations", "finalizers"):
        if tmeta.get(field):
            pod_meta[field] = copy.deepcopy(tmeta[field])
    pod_spec = copy.deepcopy(dict(template.get("spec") or {}))
    pod_spec["affinity"] = node_affinity_for(pod_spec.get("affinity"), node_name)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def target_node(pod: Mapping[str, Any]) -> str:
    """The node a daemon pod is for: its ``nodeName``, else the name its affinity requires."""
    node = spec(pod).get("nodeName")
    if node:
        return str(node)
    required = ((spec(pod).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            values = field.get("values") or []
            if field.get("key") == _NAME_FIELD and field.get("operator") == "In" and values:
                return str(values[0])
    return ""


def should_run(node: Mapping[str, Any], template: Mapping[str, Any]) -> tuple[bool, bool]:
    """(a daemon pod should run on ``node``, an existing one may continue running)."""
    name = str(meta(node).get("name") or "")
    labels = meta(node).get("labels") or {}
    pod_spec = spec(template)
    selector = pod_spec.get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False, False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    if required:
        terms = compile_terms(required.get("nodeSelectorTerms"))
        if not matches_any(terms, name, labels):
            return False, False
    tolerations: Sequence[Obj] = [
        t for t in pod_spec.get("tolerations") or [] if isinstance(t, dict)
    ]
    taints = node_taints(node)
    hard = [t for t in taints if t.get("effect") in (NO_SCHEDULE, NO_EXECUTE)]
    if all(tolerated(t, tolerations) for t in hard):
        return True, True
    evicting = [t for t in taints if t.get("effect") == NO_EXECUTE]
    return False, all(tolerated(t, tolerations) for t in evicting)

"""Defaults for apps/v1 workloads (``pkg/apis/apps/v1/defaults.go``, Kubernetes 1.32).

Decides: Deployment replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit
10, progressDeadlineSeconds 600; ReplicaSet replicas 1; StatefulSet replicas
1, OrderedReady, RollingUpdate with partition 0, revisionHistoryLimit 10, a
Retain/Retain claim retention policy, claim templates defaulted like claims
(``serviceName`` is left as given); DaemonSet RollingUpdate with maxUnavailable
1 and maxSurge 0, revisionHistoryLimit 10. Every pod template gets the PodSpec
defaults.
"""

from __future__ import annotations

from corral.machinery.validation.common import Obj, child, items
from corral.machinery.validation.defaults_core import default_claim
from corral.machinery.validation.defaults_pod import default_pod_template


def default_deployment(obj: Obj) -> None:
    spec = child(obj, "spec")
    spec.setdefault("replicas", 1)
    strategy = child(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = child(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_pod_template(spec.get("template"))


def default_replica_set(obj: Obj) -> None:
    spec = child(obj, "spec")
    spec.setdefault("replicas", 1)
    default_pod_template(spec.get("template"))


def default_stateful_set(obj: Obj) -> None:
    spec = child(obj, "spec")
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        child(strategy, "rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    retention = child(spec, "persistentVolumeClaimRetentionPolicy")
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    default_pod_template(spec.get("template"))
    for claim in items(spec.get("volumeClaimTemplates")):
        if isinstance(claim, dict):
            default_claim(claim)


def default_daemon_set(obj: Obj) -> None:
    spec = child(obj, "spec")
    strategy = child(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = child(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_pod_template(spec.get("template"))

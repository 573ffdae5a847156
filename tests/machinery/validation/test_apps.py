"""apps/v1 workloads: selectors, templates, strategies and immutable fields."""

from __future__ import annotations

import copy
from typing import Any

from corral.machinery.validation import strategy_for


def create(resource: str, obj: dict[str, Any]) -> list[str]:
    strategy = strategy_for("apps", resource)
    strategy.default(obj)
    return [str(e) for e in strategy.validate_create(obj)]


def update(resource: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    strategy = strategy_for("apps", resource)
    strategy.default(new)
    return [str(e) for e in strategy.validate_update(new, old)]


def workload(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    labels = {"app": "web"} if labels is None else labels
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]},
        },
    }
    body.update(spec)
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": body}


MISMATCH = (
    'spec.template.metadata.labels: Invalid value: {"app":"api"}: '
    "`selector` does not match template `labels`"
)


def test_valid_workloads_pass() -> None:
    for resource in ("deployments", "replicasets", "daemonsets"):
        assert create(resource, workload()) == [], resource
    assert create("statefulsets", workload(serviceName="web")) == []


def test_selector_must_match_template_labels() -> None:
    for resource in ("deployments", "replicasets", "daemonsets", "statefulsets"):
        assert create(resource, workload({"app": "api"})) == [MISMATCH], resource


def test_selector_is_required_and_not_empty() -> None:
    missing = workload(selector=None)
    assert create("deployments", missing) == ["spec.selector: Required value"]
    assert create("deployments", workload(selector={})) == [
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment"
    ]
    assert create("statefulsets", workload(selector={})) == [
        "spec.selector: Invalid value: {}: empty selector is invalid for statefulset"
    ]
    assert create("daemonsets", workload(selector={})) == [
        "spec.selector: Invalid value: {}: empty selector is invalid for daemonset"
    ]


def test_invalid_selector_expressions_are_reported_under_the_selector() -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": "In"}]}
    errors = create("deployments", workload(selector=selector))
    assert errors == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when "
        "`operator` is 'In' or 'NotIn'"
    ]


def test_replicas_and_limits_are_not_negative() -> None:
    errors = create("deployments", workload(replicas=-1, revisionHistoryLimit=-2))
    assert errors == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
    ]


def test_templates_must_restart_always() -> None:
    obj = workload()
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert create("deployments", obj) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]


def test_template_containers_are_validated() -> None:
    obj = workload()
    obj["spec"]["template"]["spec"]["containers"] = [{"name": "web"}]
    assert create("deployments", obj) == ["spec.template.spec.containers[0].image: Required value"]


def test_deployment_strategy() -> None:
    zero = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}
    assert create("deployments", workload(strategy=zero)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
        "`maxSurge` is 0"
    ]
    too_much = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}}
    assert create("deployments", workload(strategy=too_much)) == [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater '
        "than 100%"
    ]
    bad = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "lots"}}
    assert create("deployments", workload(strategy=bad)) == [
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "lots": a valid percent string '
        "must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used "
        "for validation is '[0-9]+%')"
    ]
    recreate = {"type": "Recreate", "rollingUpdate": {}}
    assert create("deployments", workload(strategy=recreate)) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        "'Recreate'"
    ]


def test_progress_deadline_exceeds_min_ready() -> None:
    errors = create("deployments", workload(minReadySeconds=600))
    assert errors == [
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"
    ]


def test_daemon_set_surge_and_unavailable() -> None:
    both = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}
    assert create("daemonsets", workload(updateStrategy=both)) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when "
        "maxUnavailable is non-zero"
    ]
    neither = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}
    assert create("daemonsets", workload(updateStrategy=neither)) == [
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when "
        "maxSurge is 0"
    ]


def test_stateful_set_policies() -> None:
    errors = create("statefulsets", workload(podManagementPolicy="Random"))
    assert errors == [
        "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"
    ]


def created(resource: str, **spec: Any) -> dict[str, Any]:
    obj = workload(**spec)
    strategy_for("apps", resource).default(obj)
    return obj


def test_selector_is_immutable() -> None:
    for resource in ("deployments", "replicasets", "daemonsets"):
        old = created(resource)
        new = copy.deepcopy(old)
        new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
        new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
        assert update(resource, new, old) == [
            'spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: '
            "field is immutable"
        ], resource


def test_updates_changing_labels_replicas_or_template_pass() -> None:
    for resource in ("deployments", "replicasets", "daemonsets", "statefulsets"):
        old = created(resource)
        new = copy.deepcopy(old)
        new["metadata"]["labels"] = {"team": "a"}
        new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
        if resource != "daemonsets":
            new["spec"]["replicas"] = 5
        assert update(resource, new, old) == [], resource


def test_stateful_set_spec_is_mostly_immutable() -> None:
    old = created("statefulsets", serviceName="web")
    new = copy.deepcopy(old)
    new["spec"]["serviceName"] = "other"
    assert update("statefulsets", new, old) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
        "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    ]


def test_replica_set_templates_have_no_active_deadline() -> None:
    obj = workload()
    obj["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 10
    assert create("replicasets", obj) == [
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
        "ReplicaSet is not Supported"
    ]


def test_stateful_set_mounts_may_name_claim_templates() -> None:
    obj = workload(volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {}}])
    mounts = [{"name": "data", "mountPath": "/data"}]
    obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = mounts
    assert create("statefulsets", obj) == []
    assert create("deployments", copy.deepcopy(obj)) == [
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"'
    ]

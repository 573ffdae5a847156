"""Pure DaemonSet pieces: placement, the daemon pod, management and rolling plans, status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from corral.kube.daemonset.placement import (
    new_pod,
    pod_template,
    should_run,
    target_node,
)
from corral.kube.daemonset.plan import compute_status, manage, rolling_update, surge_and_unavailable

Obj = dict[str, Any]
NOW = datetime.now(UTC)


def ds(pod_spec: Obj | None = None, **spec: Any) -> Obj:
    return {
        "metadata": {"name": "agent", "namespace": "ns", "uid": "ds-uid", "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "c", "image": "x"}], **(pod_spec or {})},
            },
            **spec,
        },
    }


def node(name: str, labels: Obj | None = None, taints: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def pod(name: str, node_name: str, hash_: str, ready: bool = True, created: str = "1") -> Obj:
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {
        "metadata": {
            "name": name,
            "labels": {"controller-revision-hash": hash_},
            "creationTimestamp": created,
        },
        "spec": {"nodeName": node_name},
        "status": {"phase": "Running", "conditions": conditions},
    }


def test_daemon_pod_tolerations_and_affinity() -> None:
    d = ds({"hostNetwork": True, "affinity": {"podAffinity": {"x": 1}}})
    template = pod_template(d, "h1")
    made = new_pod(d, template, "n1")
    assert made["metadata"]["generateName"] == "agent-"
    assert made["metadata"]["labels"]["controller-revision-hash"] == "h1"
    keys = {(t["key"], t["effect"]) for t in made["spec"]["tolerations"]}
    assert ("node.kubernetes.io/network-unavailable", "NoSchedule") in keys
    assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
    assert len(keys) == 7
    assert made["spec"]["affinity"]["podAffinity"] == {"x": 1}
    assert target_node(made) == "n1"
    again = pod_template({"metadata": d["metadata"], "spec": {"template": template}}, "h1")
    assert len(again["spec"]["tolerations"]) == 7  # not added twice


def test_should_run_selector_affinity_and_taints() -> None:
    selector = pod_template(ds({"nodeSelector": {"role": "edge"}}), "h")
    assert should_run(node("a", {"role": "edge"}), selector) == (True, True)
    assert should_run(node("b"), selector) == (False, False)
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}
                ]
            }
        }
    }
    by_affinity = pod_template(ds({"affinity": affinity}), "h")
    assert should_run(node("a", {"zone": "z1"}), by_affinity)[0]
    assert not should_run(node("a", {"zone": "z2"}), by_affinity)[0]
    plain = pod_template(ds(), "h")
    no_schedule = node("t", taints=[{"key": "k", "effect": "NoSchedule"}])
    assert should_run(no_schedule, plain) == (False, True)
    no_execute = node("t", taints=[{"key": "k", "effect": "NoExecute"}])
    assert should_run(no_execute, plain) == (False, False)
    cordoned = node(
        "c", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
    )
    assert should_run(cordoned, plain) == (True, True)


def test_manage_creates_deletes_duplicates_and_strays() -> None:
    d = ds()
    template = pod_template(d, "h")
    nodes = [node("a"), node("b")]
    by_node = {
        "a": [pod("a1", "a", "h", created="1"), pod("a2", "a", "h", created="2")],
        "gone": [pod("g1", "gone", "h")],
    }
    plan = manage(d, template, nodes, by_node, "h", NOW)
    assert plan.create_on == ["b"]
    assert sorted(p["metadata"]["name"] for p in plan.delete) == ["a2", "g1"]


def test_rolling_update_without_and_with_surge() -> None:
    d = ds(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
    template = pod_template(d, "new")
    nodes = [node("a"), node("b"), node("c")]
    by_node = {n: [pod(f"{n}1", n, "old")] for n in "abc"}
    plan = rolling_update(d, template, nodes, by_node, "new", NOW)
    assert len(plan.delete) == 1
    by_node["a"] = [pod("a2", "a", "new", ready=False)]
    assert rolling_update(d, template, nodes, by_node, "new", NOW).delete == []

    surge = ds(
        updateStrategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        }
    )
    assert surge_and_unavailable(surge, 3) == (1, 0)
    by_node = {n: [pod(f"{n}1", n, "old")] for n in "abc"}
    plan = rolling_update(surge, template, nodes, by_node, "new", NOW)
    assert plan.create_on == ["a"]
    assert plan.delete == []
    by_node["a"].append(pod("a2", "a", "new", created="2"))
    plan = rolling_update(surge, template, nodes, by_node, "new", NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["a1"]


def test_status_counts() -> None:
    d = ds({"nodeSelector": {"run": "yes"}})
    template = pod_template(d, "h")
    nodes = [node("a", {"run": "yes"}), node("b", {"run": "yes"}), node("c")]
    by_node = {"a": [pod("a1", "a", "h")], "c": [pod("c1", "c", "old")]}
    assert compute_status(d, template, nodes, by_node, "h", NOW) == {
        "currentNumberScheduled": 1,
        "numberMisscheduled": 1,
        "desiredNumberScheduled": 2,
        "numberReady": 1,
        "updatedNumberScheduled": 1,
        "numberAvailable": 1,
        "numberUnavailable": 1,
    }

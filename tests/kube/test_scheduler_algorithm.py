"""The scheduler's filters, scores and cache, without a server (fast)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from corral.kube.scheduler.algorithm import (
    AFFINITY_REASON,
    NOT_READY_REASON,
    PORTS_REASON,
    TOO_MANY_PODS,
    UNSCHEDULABLE_REASON,
    filter_node,
    fit_error_message,
    schedule,
)
from corral.kube.scheduler.cache import SchedulerCache, node_signature
from corral.kube.scheduler.podinfo import pod_info, pod_requests, to_units
from corral.kube.scheduler.runner import wants_scheduling
from corral.kube.taints import first_untolerated, tolerates, toleration_seconds


def node(
    name: str,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: int = 110,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, Any]] | None = None,
    ready: str = "True",
    unschedulable: bool = False,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    allocatable: dict[str, Any] = {"cpu": cpu, "memory": memory, "pods": str(pods), **(extra or {})}
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def pod(
    name: str = "p",
    cpu: str | None = None,
    memory: str | None = None,
    *,
    spec: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    owner: str = "",
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    body: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "resources": {"requests": requests}}]},
    }
    if owner:
        body["metadata"]["ownerReferences"] = [{"uid": owner, "controller": True}]
    body["spec"].update(spec or {})
    return body


def cache_of(*nodes: dict[str, Any]) -> SchedulerCache:
    cache = SchedulerCache()
    for n in nodes:
        cache.set_node(n)
    return cache


def place(cache: SchedulerCache, p: dict[str, Any], node_name: str) -> None:
    info = pod_info(f"ns/{p['metadata']['name']}", p)
    cache.assume(info, node_name)


def reasons(p: dict[str, Any], n: dict[str, Any]) -> list[str]:
    cache = cache_of(n)
    return filter_node(pod_info("ns/p", p), cache.nodes[n["metadata"]["name"]])


# -- units and requests ---------------------------------------------------------------


def test_units() -> None:
    assert to_units("cpu", "500m") == 500
    assert to_units("cpu", "1.5") == 1500
    assert to_units("cpu", "0.0001") == 1  # rounded up, as MilliValue does
    assert to_units("memory", "1Gi") == 1024**3
    assert to_units("memory", "1G") == 10**9
    assert to_units("nvidia.com/gpu", 2) == 2
    assert to_units("cpu", "bogus") == 0


def test_requests_sum_containers_max_init_and_overhead() -> None:
    spec = {
        "containers": [
            {"resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}},
            {"resources": {"requests": {"cpu": "200m"}}},
        ],
        "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "512Mi"}}}],
        "overhead": {"cpu": "10m"},
    }
    assert pod_requests(spec) == {"cpu": 1010, "memory": 1024**3, "pods": 1}


def test_requests_sidecars_add_to_the_sum() -> None:
    spec = {
        "containers": [{"resources": {"requests": {"cpu": "100m"}}}],
        "initContainers": [
            {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
            {"resources": {"requests": {"cpu": "120m"}}},
        ],
    }
    # sidecar keeps running: 100 + 50; the second init runs next to the sidecar: 120 + 50
    assert pod_requests(spec)["cpu"] == 170


# -- filters -------------------------------------------------------------------------


def test_resources_fit_and_insufficient() -> None:
    n = node("n1", cpu="1", memory="1Gi")
    assert reasons(pod(cpu="1", memory="1Gi"), n) == []
    assert reasons(pod(cpu="1100m", memory="2Gi"), n) == [
        "Insufficient cpu",
        "Insufficient memory",
    ]


def test_resources_count_what_is_placed() -> None:
    cache = cache_of(node("n1", cpu="1", pods=3))
    place(cache, pod("a", cpu="600m"), "n1")
    info = cache.nodes["n1"]
    assert filter_node(pod_info("ns/b", pod("b", cpu="500m")), info) == ["Insufficient cpu"]
    assert filter_node(pod_info("ns/c", pod("c", cpu="400m")), info) == []
    place(cache, pod("d"), "n1")
    place(cache, pod("e"), "n1")
    assert filter_node(pod_info("ns/f", pod("f")), info) == [TOO_MANY_PODS]
    cache.forget("ns/a")
    cache.forget("ns/e")
    assert filter_node(pod_info("ns/b", pod("b", cpu="1")), info) == []


def test_extended_resources() -> None:
    gpu_pod = pod(spec={"containers": [{"resources": {"requests": {"example.com/gpu": "1"}}}]})
    assert reasons(gpu_pod, node("n1")) == ["Insufficient example.com/gpu"]
    assert reasons(gpu_pod, node("n1", extra={"example.com/gpu": "2"})) == []


def test_unschedulable_and_not_ready() -> None:
    assert reasons(pod(), node("n1", unschedulable=True)) == [UNSCHEDULABLE_REASON]
    assert reasons(pod(), node("n1", ready="False")) == [NOT_READY_REASON]
    assert reasons(pod(), node("n1", ready="Unknown")) == [NOT_READY_REASON]
    everything = pod(spec={"tolerations": [{"operator": "Exists"}]})
    assert reasons(everything, node("n1", ready="False", unschedulable=True)) == []


def test_node_selector() -> None:
    n = node("n1", labels={"disk": "ssd", "zone": "a"})
    assert reasons(pod(spec={"nodeSelector": {"disk": "ssd"}}), n) == []
    assert reasons(pod(spec={"nodeSelector": {"disk": "hdd"}}), n) == [AFFINITY_REASON]
    assert reasons(pod(spec={"nodeSelector": {"gpu": "yes"}}), n) == [AFFINITY_REASON]


def affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    required = {"nodeSelectorTerms": list(terms)}
    return {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
    }


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": op, "values": list(values)}]}


@pytest.mark.parametrize(
    ("term", "fits"),
    [
        (expr("zone", "In", "a", "b"), True),
        (expr("zone", "In", "c"), False),
        (expr("zone", "NotIn", "c"), True),
        (expr("zone", "NotIn", "a"), False),
        (expr("missing", "NotIn", "a"), True),
        (expr("zone", "Exists"), True),
        (expr("missing", "Exists"), False),
        (expr("missing", "DoesNotExist"), True),
        (expr("zone", "DoesNotExist"), False),
        (expr("cores", "Gt", "8"), True),
        (expr("cores", "Gt", "16"), False),
        (expr("cores", "Lt", "32"), True),
        (expr("cores", "Lt", "16"), False),
        (expr("zone", "Gt", "1"), False),  # not an integer label
        (expr("zone", "Bogus", "a"), False),
        ({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}, True),
        ({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}, False),
        ({"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n2"]}]}, True),
        ({}, False),  # an empty term matches nothing
    ],
)
def test_required_node_affinity(term: dict[str, Any], fits: bool) -> None:
    n = node("n1", labels={"zone": "a", "cores": "16"})
    assert (reasons(pod(spec=affinity(term)), n) == []) is fits


def test_affinity_terms_are_ored_requirements_anded() -> None:
    n = node("n1", labels={"zone": "a", "disk": "ssd"})
    both = {
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]},
            {"key": "disk", "operator": "In", "values": ["hdd"]},
        ]
    }
    assert reasons(pod(spec=affinity(both)), n) == [AFFINITY_REASON]
    assert reasons(pod(spec=affinity(both, expr("disk", "In", "ssd"))), n) == []


def test_taints_and_tolerations() -> None:
    taint = {"key": "node-role", "value": "x", "effect": "NoSchedule"}
    n = node("n1", taints=[taint])
    assert reasons(pod(), n) == ["node(s) had untolerated taint {node-role: x}"]
    equal = {"key": "node-role", "operator": "Equal", "value": "x", "effect": "NoSchedule"}
    assert reasons(pod(spec={"tolerations": [equal]}), n) == []
    wrong_value = {**equal, "value": "y"}
    assert reasons(pod(spec={"tolerations": [wrong_value]}), n) != []
    exists = {"key": "node-role", "operator": "Exists"}
    assert reasons(pod(spec={"tolerations": [exists]}), n) == []
    wrong_effect = {"key": "node-role", "operator": "Exists", "effect": "NoExecute"}
    assert reasons(pod(spec={"tolerations": [wrong_effect]}), n) != []
    prefer = node("n2", taints=[{"key": "k", "effect": "PreferNoSchedule"}])
    assert reasons(pod(), prefer) == []


def test_toleration_rules() -> None:
    taint = {"key": "k", "value": "v", "effect": "NoExecute"}
    assert tolerates({"operator": "Exists"}, taint)
    assert tolerates({"key": "k", "operator": "Exists", "effect": "NoExecute"}, taint)
    assert tolerates({"key": "k", "value": "v"}, taint)  # Equal is the default
    assert not tolerates({"key": "k", "value": "w"}, taint)
    assert not tolerates({"key": "other", "operator": "Exists"}, taint)
    assert first_untolerated([taint], [], ["NoSchedule"]) is None
    assert first_untolerated([taint], [], ["NoExecute"]) == taint
    assert toleration_seconds(taint, []) == 0
    assert toleration_seconds(taint, [{"operator": "Exists"}]) is None
    limited: list[dict[str, Any]] = [
        {"operator": "Exists", "tolerationSeconds": 30},
        {"key": "k", "operator": "Exists"},
    ]
    assert toleration_seconds(taint, limited) == 30


def test_host_ports() -> None:
    cache = cache_of(node("n1"))
    with_port = {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}
    place(cache, pod("a", spec=with_port), "n1")
    info = cache.nodes["n1"]
    assert filter_node(pod_info("ns/b", pod("b", spec=with_port)), info) == [PORTS_REASON]
    udp = {"containers": [{"name": "c", "ports": [{"hostPort": 8080, "protocol": "UDP"}]}]}
    assert filter_node(pod_info("ns/c", pod("c", spec=udp)), info) == []
    cache.forget("ns/a")
    assert filter_node(pod_info("ns/b", pod("b", spec=with_port)), info) == []


# -- the decision and its message ------------------------------------------------------


def test_fit_error_message_is_kubernetes_format() -> None:
    counts = Counter({"node(s) had untolerated taint {node-role: x}": 1, "Insufficient cpu": 2})
    assert fit_error_message(3, counts) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role: x}, "
        "2 Insufficient cpu."
    )


def test_schedule_counts_reasons_per_node() -> None:
    cache = cache_of(
        node("small-1", cpu="1"),
        node("small-2", cpu="1"),
        node(
            "tainted", cpu="8", taints=[{"key": "node-role", "value": "x", "effect": "NoSchedule"}]
        ),
    )
    decision = schedule(pod_info("ns/p", pod(cpu="2")), cache.schedulable_nodes())
    assert decision.node == ""
    assert decision.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role: x}, "
        "2 Insufficient cpu."
    )


def test_prefers_least_allocated() -> None:
    cache = cache_of(node("busy", cpu="4"), node("idle", cpu="4"))
    place(cache, pod("x", cpu="3"), "busy")
    decision = schedule(pod_info("ns/p", pod(cpu="500m")), cache.schedulable_nodes())
    assert decision.node == "idle"


def test_identical_pods_spread_and_never_overcommit() -> None:
    cache = cache_of(*(node(f"n{i}", cpu="2", memory="4Gi", pods=40) for i in range(5)))
    rng = random.Random(1)
    placed: Counter[str] = Counter()
    for i in range(65):
        p = pod(f"p{i}", cpu="150m", memory="100Mi", owner="rs-1")
        info = pod_info(f"ns/p{i}", p)
        decision = schedule(info, cache.schedulable_nodes(), rng)
        assert decision.node, decision.message
        cache.assume(info, decision.node)
        placed[decision.node] += 1
    assert set(placed.values()) == {13}  # 14 x 150m would exceed 2 cpu; spread evens out
    info = pod_info("ns/more", pod("more", cpu="150m", owner="rs-1"))
    decision = schedule(info, cache.schedulable_nodes(), rng)
    assert decision.node == ""
    assert decision.message == "0/5 nodes are available: 5 Insufficient cpu."


def test_best_effort_pods_spread_too() -> None:
    cache = cache_of(*(node(f"n{i}") for i in range(4)))
    rng = random.Random(2)
    placed: Counter[str] = Counter()
    for i in range(40):
        info = pod_info(f"ns/p{i}", pod(f"p{i}", labels={"app": "web"}))
        decision = schedule(info, cache.schedulable_nodes(), rng)
        cache.assume(info, decision.node)
        placed[decision.node] += 1
    assert max(placed.values()) - min(placed.values()) <= 1


def test_preferred_affinity_and_prefer_no_schedule() -> None:
    preferred = {
        "affinity": {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 50, "preference": expr("disk", "In", "ssd")}
                ]
            }
        }
    }
    cache = cache_of(node("hdd", labels={"disk": "hdd"}), node("ssd", labels={"disk": "ssd"}))
    assert schedule(pod_info("ns/p", pod(spec=preferred)), cache.schedulable_nodes()).node == "ssd"
    soft = [{"key": "k", "effect": "PreferNoSchedule"}]
    cache = cache_of(node("soft", taints=soft), node("plain"))
    assert schedule(pod_info("ns/p", pod()), cache.schedulable_nodes()).node == "plain"


def test_cache_pods_on_unknown_nodes_and_node_removal() -> None:
    cache = SchedulerCache()
    bound = pod("a", cpu="1")
    bound["spec"]["nodeName"] = "later"
    cache.add_pod(pod_info("ns/a", bound))
    assert cache.node_count == 0
    cache.set_node(node("later", cpu="1"))
    assert cache.nodes["later"].requested["cpu"] == 1000
    cache.remove_node("later")
    assert cache.node_count == 0
    assert "later" in cache.nodes
    cache.remove_pod("ns/a")
    assert "later" not in cache.nodes


def test_node_signature_ignores_heartbeats() -> None:
    a = node("n1")
    b = node("n1")
    b["status"]["conditions"][0]["lastHeartbeatTime"] = "2030-01-01T00:00:00Z"
    assert node_signature(a) == node_signature(b)
    c = node("n1", cpu="8")
    assert node_signature(a) != node_signature(c)


def test_which_pods_the_scheduler_takes() -> None:
    assert wants_scheduling(pod())
    assert wants_scheduling(pod(spec={"schedulerName": "default-scheduler"}))
    assert not wants_scheduling(pod(spec={"schedulerName": "my-scheduler"}))
    assert not wants_scheduling(pod(spec={"nodeName": "n1"}))
    deleting = pod()
    deleting["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    assert not wants_scheduling(deleting)
    finished = pod()
    finished["status"] = {"phase": "Succeeded"}
    assert not wants_scheduling(finished)

"""The health controllers' pure parts: quantity sums, the status they write, binding names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from corral.controller import get_condition, set_condition
from corral.machinery.patch.merge_patch import apply_merge_patch
from corral.machinery.quota import parse
from corral.management.clusterhealth import HealthOptions
from corral.management.clusterhealth.bindings import binding_name
from corral.management.clusterhealth.status import (
    Observation,
    mark_disconnected,
    mark_unavailable,
    merge_diff,
    observe,
)
from corral.management.clusterhealth.totals import node_totals, render, requested_totals
from corral.management.clusterhealth.watch import probe_delay

milli_cpu = st.integers(min_value=0, max_value=64_000)
mebibytes = st.integers(min_value=0, max_value=1 << 20)


def _pod(cpu_m: int, mem_mi: int, *, phase: str = "Running", node: str = "n1") -> dict[str, Any]:
    return {
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "c",
                    "resources": {"requests": {"cpu": f"{cpu_m}m", "memory": f"{mem_mi}Mi"}},
                }
            ],
        },
        "status": {"phase": phase},
    }


@given(st.lists(st.tuples(milli_cpu, mebibytes), max_size=30))
def test_requested_sums_are_exact_and_print_as_kubernetes(pods: list[tuple[int, int]]) -> None:
    total = requested_totals([_pod(c, m) for c, m in pods])
    shown = render(total)
    assert total["pods"] == len(pods)
    assert parse(shown["pods"]) == len(pods)
    if pods:
        assert parse(shown["cpu"]) == Decimal(sum(c for c, _ in pods)) / 1000
        assert parse(shown["memory"]) == sum(m for _, m in pods) * 1024 * 1024


def test_requested_counts_only_bound_running_pods_and_uses_init_containers() -> None:
    big_init = _pod(100, 10)
    big_init["spec"]["initContainers"] = [
        {"name": "i", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}
    ]
    pods = [
        _pod(100, 10),
        _pod(100, 10, phase="Succeeded"),
        _pod(100, 10, phase="Failed"),
        _pod(100, 10, node=""),
        big_init,
    ]
    assert render(requested_totals(pods)) == {"cpu": "2100m", "memory": "1034Mi", "pods": "2"}
    assert render(requested_totals([])) == {"pods": "0"}


def test_three_tenths_of_a_cpu_are_300m_not_a_float() -> None:
    pods = [_pod(100, 0), _pod(100, 0), _pod(100, 0)]
    assert render(requested_totals(pods))["cpu"] == "300m"


@given(st.lists(st.tuples(st.integers(1, 256), st.integers(1, 1024)), min_size=1, max_size=20))
def test_node_sums(nodes: list[tuple[int, int]]) -> None:
    objs = [
        {"status": {"capacity": {"cpu": str(c), "memory": f"{g}Gi", "pods": "110"}}}
        for c, g in nodes
    ]
    shown = render(node_totals(objs, "capacity"))
    assert parse(shown["cpu"]) == sum(c for c, _ in nodes)
    assert parse(shown["memory"]) == sum(g for _, g in nodes) * 1024**3
    assert shown["pods"] == str(110 * len(nodes))
    assert render(node_totals(objs, "allocatable")) == {}


def test_mixed_units_sum_right() -> None:
    nodes = [
        {"status": {"capacity": {"cpu": "1500m", "memory": "1Gi"}}},
        {"status": {"capacity": {"cpu": "0.5", "memory": "512Mi"}}},
        {"status": {"capacity": {"cpu": "2", "memory": "1e3"}}},
    ]
    shown = render(node_totals(nodes, "capacity"))
    assert shown["cpu"] == "4"
    assert parse(shown["memory"]) == 1024**3 + 512 * 1024**2 + 1000


def _cluster() -> dict[str, Any]:
    cluster: dict[str, Any] = {"metadata": {"name": "c-x"}, "status": {}}
    set_condition(cluster, "Connected", True, "AgentConnected")
    return cluster


def test_observe_writes_ready_and_figures_once() -> None:
    cluster = _cluster()
    seen = Observation(api_ready=True, version={"gitVersion": "v1.32.0"}, node_count=2)
    assert observe(cluster, seen) is True
    ready = get_condition(cluster, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("True", "APIReady")
    assert ready["lastUpdateTime"]
    assert cluster["status"]["state"] == "active"
    assert observe(cluster, seen) is False, "nothing changed: no write"
    seen.api_ready, seen.api_message = False, "connection refused"
    assert observe(cluster, seen) is True
    ready = get_condition(cluster, "Ready")
    assert ready is not None
    assert (ready["reason"], ready["message"]) == ("APIUnavailable", "connection refused")
    assert cluster["status"]["state"] == "unavailable"
    assert cluster["status"]["nodeCount"] == 2


def test_nothing_is_claimed_before_the_first_probe() -> None:
    cluster = _cluster()
    assert observe(cluster, Observation()) is False
    assert get_condition(cluster, "Ready") is None


def test_disconnected_and_never_connected() -> None:
    cluster = _cluster()
    cluster["status"]["agent"] = {"lastConnected": "2026-01-01T00:00:00Z"}
    set_condition(cluster, "Connected", False, "AgentDisconnected", "tunnel closed")
    assert mark_disconnected(cluster) is True
    ready = get_condition(cluster, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", "Disconnected")
    assert "tunnel closed" in ready["message"]
    assert cluster["status"]["state"] == "disconnected"
    assert mark_disconnected(cluster) is False

    fresh: dict[str, Any] = {"metadata": {"name": "c-y"}, "status": {"state": "pending"}}
    set_condition(fresh, "Connected", False, "NeverConnected")
    mark_disconnected(fresh)
    assert fresh["status"]["state"] == "pending"


def test_merge_diff_sends_only_changes_and_nulls_removals() -> None:
    old = {"state": "active", "capacity": {"cpu": "1", "memory": "1Gi"}, "nodeCount": 1}
    new = {"state": "active", "capacity": {"cpu": "2"}, "nodeCount": 1, "version": {"major": "1"}}
    assert merge_diff(old, new) == {
        "capacity": {"cpu": "2", "memory": None},
        "version": {"major": "1"},
    }
    assert merge_diff(old, old) == {}


def test_binding_names() -> None:
    assert binding_name("alice") == "corral-admin-alice"
    odd = binding_name("Alice@Example.com")
    assert odd.startswith("corral-admin-u-")
    assert odd == binding_name("Alice@Example.com")
    assert odd != binding_name("alice@example.com")


json_leaf = st.one_of(st.integers(-5, 5), st.text(max_size=3), st.booleans())
json_doc = st.recursive(
    st.dictionaries(st.text(max_size=3), json_leaf, max_size=4),
    lambda inner: st.dictionaries(
        st.text(max_size=3), st.one_of(json_leaf, inner, st.lists(json_leaf)), max_size=4
    ),
    max_leaves=12,
)


@given(json_doc, json_doc)
def test_merge_diff_applied_as_a_merge_patch_gives_the_new_status(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert apply_merge_patch(old, merge_diff(old, new)) == new


def test_failing_probes_back_off_to_the_limit_and_reset() -> None:
    options = HealthOptions(probe_interval=15.0, failing_probe_interval=60.0)
    delays = [probe_delay(options, failures) for failures in range(6)]
    assert delays == [15.0, 15.0, 30.0, 60.0, 60.0, 60.0]
    assert probe_delay(options, 10_000) == 60.0


def test_unavailable_messages_are_one_bounded_line() -> None:
    cluster = _cluster()
    mark_unavailable(cluster, "first line\n  second line " + "x" * 1000)
    ready = get_condition(cluster, "Ready")
    assert ready is not None
    assert ready["message"].startswith("first line second line x")
    assert len(ready["message"]) == 300
    assert "\n" not in ready["message"]

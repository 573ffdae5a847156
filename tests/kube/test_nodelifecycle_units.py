"""Node lifecycle's decisions without a server: which taints, when to evict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from corral.kube.nodelifecycle.common import parse_time
from corral.kube.nodelifecycle.eviction import eviction_delay
from corral.kube.nodelifecycle.health import desired_taints, reconcile_taints

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def node(taints: list[dict[str, Any]] | None = None, **conditions: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "n"},
        "spec": {"taints": taints or []},
        "status": {"conditions": [{"type": k, "status": v} for k, v in conditions.items()]},
    }


def pod(tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"nodeName": "n", "tolerations": tolerations or []}}


def test_desired_taints_follow_ready_and_pressure() -> None:
    assert desired_taints(node(Ready="True"), "True") == set()
    assert desired_taints(node(), "False") == {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}
    assert desired_taints(node(), "Unknown") == {
        (UNREACHABLE, "NoSchedule"),
        (UNREACHABLE, "NoExecute"),
    }
    pressured = node(Ready="True", MemoryPressure="True", DiskPressure="False")
    assert desired_taints(pressured, "True") == {
        ("node.kubernetes.io/memory-pressure", "NoSchedule")
    }
    cordoned = node(Ready="True")
    cordoned["spec"]["unschedulable"] = True
    assert desired_taints(cordoned, "True") == {("node.kubernetes.io/unschedulable", "NoSchedule")}


def test_reconcile_keeps_foreign_taints_and_time_added() -> None:
    foreign = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    old = {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2020-01-01T00:00:00Z"}
    wanted = {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    new = reconcile_taints([foreign, old], wanted, "2030-01-01T00:00:00Z")
    assert new == [
        foreign,
        old,
        {"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": "2030-01-01T00:00:00Z"},
    ]
    assert new is not None
    assert reconcile_taints(new, wanted, "2031-01-01T00:00:00Z") is None  # nothing to change
    assert reconcile_taints(new, set(), "2031-01-01T00:00:00Z") == [foreign]


def test_eviction_delay() -> None:
    added = datetime(2030, 1, 1, tzinfo=UTC)
    taint = {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2030-01-01T00:00:00Z"}
    dead = node([taint])
    now = (added + timedelta(seconds=10)).timestamp()
    seen: dict[tuple[str, str], float] = {}
    assert eviction_delay(dead, pod(), seen, now) == 0  # not tolerated: now
    short = {
        "key": UNREACHABLE,
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 60,
    }
    assert eviction_delay(dead, pod([short]), seen, now) == 50  # counted from timeAdded
    forever = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    assert eviction_delay(dead, pod([forever]), seen, now) is None
    assert eviction_delay(node(), pod(), seen, now) is None  # no NoExecute taint
    late = {**short, "tolerationSeconds": 5}
    assert eviction_delay(dead, pod([late]), seen, now) == 0  # already past
    untimed = node([{"key": "x", "effect": "NoExecute"}])
    tolerate_x = {"key": "x", "operator": "Exists", "tolerationSeconds": 30}
    assert eviction_delay(untimed, pod([tolerate_x]), seen, now) == 30  # from first seen
    assert eviction_delay(untimed, pod([tolerate_x]), seen, now + 10) == 20
    no_schedule_only = node([{"key": "y", "effect": "NoSchedule"}])
    assert eviction_delay(no_schedule_only, pod(), seen, now) is None


def test_parse_time() -> None:
    assert parse_time("2030-01-01T00:00:00Z") == datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_time("2030-01-01T00:00:00.123456Z") == datetime(2030, 1, 1, 0, 0, 0, 123456, UTC)
    assert parse_time("2030-01-01T01:00:00+01:00") == datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_time("") is None
    assert parse_time("yesterday") is None

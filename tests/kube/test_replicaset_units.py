"""ReplicaSet helpers without a server: deletion ranking, expectations, slow start,
availability, pods from the template, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from corral.kube.expectations import EXPECTATIONS_TIMEOUT, Expectations
from corral.kube.podranking import DELETION_COST_ANNOTATION, pods_to_delete
from corral.kube.podstatus import is_pod_active, is_pod_available, is_pod_ready
from corral.kube.replicaset import compute_status, pod_from_template
from corral.kube.slowstart import slow_start_batch

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    name: str,
    node: str = "",
    phase: str = "Pending",
    ready_at: float | None = None,
    created: float = 0,
    **extra: Any,
) -> dict[str, Any]:
    conditions = []
    if ready_at is not None:
        conditions.append(
            {"type": "Ready", "status": "True", "lastTransitionTime": stamp(ready_at)}
        )
    return {
        "metadata": {"name": name, "creationTimestamp": stamp(created), **extra},
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": phase, "conditions": conditions},
    }


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_deletion_order() -> None:
    unscheduled = pod("unscheduled")
    pending = pod("pending", node="n1")
    running = pod("running", node="n2", phase="Running")
    ready_new = pod("ready-new", node="n3", phase="Running", ready_at=50)
    ready_old = pod("ready-old", node="n4", phase="Running", ready_at=10)
    pods = [ready_old, ready_new, running, pending, unscheduled]
    assert names(pods_to_delete(pods, pods, 5)) == names(pods)  # all: any order
    assert names(pods_to_delete(pods, pods, 4)) == [
        "unscheduled",
        "pending",
        "running",
        "ready-new",
    ]


def test_deletion_cost_doubled_up_nodes_and_age() -> None:
    cheap = pod("cheap", node="a", phase="Running", ready_at=0)
    dear = pod(
        "dear",
        node="b",
        phase="Running",
        ready_at=0,
        annotations={DELETION_COST_ANNOTATION: "-5"},
    )
    assert names(pods_to_delete([cheap, dear], [cheap, dear], 1)) == ["dear"]
    crowded = pod("crowded", node="busy", phase="Running", ready_at=0)
    alone = pod("alone", node="quiet", phase="Running", ready_at=0)
    neighbour = pod("neighbour", node="busy", phase="Running", ready_at=0)
    assert names(pods_to_delete([alone, crowded], [alone, crowded, neighbour], 1)) == ["crowded"]
    older = pod("older", node="x", phase="Running", ready_at=0, created=0)
    newer = pod("newer", node="y", phase="Running", ready_at=0, created=5)
    assert names(pods_to_delete([older, newer], [older, newer], 1)) == ["newer"]


def test_expectations() -> None:
    clock = [0.0]
    exp = Expectations(now=lambda: clock[0])
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.pending("ns/rs") == (1, 0)
    exp.lower_creations("ns/rs", 1)
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/a")
    exp.deletion_observed("ns/rs", "ns/a")  # counted once
    assert exp.pending("ns/rs") == (0, 1)
    assert not exp.satisfied("ns/rs")
    clock[0] += EXPECTATIONS_TIMEOUT + 1
    assert exp.satisfied("ns/rs")  # expired: a lost event must not block forever
    exp.forget("ns/rs")
    assert exp.pending("ns/rs") == (0, 0)


async def test_slow_start_doubles_and_stops_at_the_first_failing_batch() -> None:
    calls: list[int] = []

    async def ok() -> None:
        calls.append(1)

    assert await slow_start_batch(10, ok) == (10, None)
    assert len(calls) == 10

    attempts: list[int] = []

    async def refused() -> None:
        attempts.append(1)
        raise RuntimeError("quota")

    successes, error = await slow_start_batch(500, refused)
    assert successes == 0
    assert isinstance(error, RuntimeError)
    assert len(attempts) == 1  # one request, not 500

    made: list[int] = []

    async def fails_after_three() -> None:
        made.append(1)
        if len(made) > 3:
            raise RuntimeError("full")

    successes, error = await slow_start_batch(100, fails_after_three)
    assert successes == 3  # batches of 1 and 2 succeed; the batch of 4 fails: stop
    assert len(made) == 7
    assert error is not None


def test_readiness_and_availability() -> None:
    p = pod("p", node="n", phase="Running", ready_at=0)
    assert is_pod_ready(p)
    assert is_pod_active(p)
    assert is_pod_available(p, 0, NOW)
    assert not is_pod_available(p, 10, NOW + timedelta(seconds=10))
    assert is_pod_available(p, 10, NOW + timedelta(seconds=11))
    assert not is_pod_active({**p, "status": {"phase": "Succeeded"}})
    assert not is_pod_active({**p, "metadata": {"deletionTimestamp": stamp(0)}})


@pytest.fixture
def rs() -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 2},
        "spec": {
            "replicas": 2,
            "minReadySeconds": 5,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "x"}, "annotations": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


def test_pod_from_template(rs: dict[str, Any]) -> None:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u1"}
    body = pod_from_template(rs, ref)
    assert body["metadata"] == {
        "generateName": "web-",
        "namespace": "ns",
        "ownerReferences": [ref],
        "labels": {"app": "web", "tier": "x"},
        "annotations": {"a": "b"},
    }
    assert body["spec"] == rs["spec"]["template"]["spec"]
    body["spec"]["containers"][0]["image"] = "changed"
    assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"


def test_compute_status(rs: dict[str, Any]) -> None:
    full = pod("a", node="n", phase="Running", ready_at=0, labels={"app": "web", "tier": "x"})
    partial = pod("b", node="n", phase="Running", ready_at=8, labels={"app": "web"})
    st = compute_status(rs, [full, partial], None, 0, NOW + timedelta(seconds=10))
    assert st == {
        "replicas": 2,
        "fullyLabeledReplicas": 1,
        "readyReplicas": 2,
        "availableReplicas": 1,
    }
    failing = compute_status(rs, [full], RuntimeError("no room"), -1, NOW)
    [cond] = failing["conditions"]
    assert cond == {
        "type": "ReplicaFailure",
        "status": "True",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "reason": "FailedCreate",
        "message": "no room",
    }
    recovered = compute_status({**rs, "status": failing}, [full], None, 0, NOW)
    assert "conditions" not in recovered

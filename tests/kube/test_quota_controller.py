"""The resource quota controller's recount and the disruption controller's arithmetic.

Pure functions, no server: which objects a quota resource name counts,
``status.used`` as Kubernetes prints it (scopes respected), and the
budget numbers of the disruption controller.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from corral.kube.disruption import count_healthy, disrupted_map
from corral.kube.intorpercent import scaled_or_zero as scaled
from corral.kube.resourcequota import compute_used, kind_of


def test_kind_of_quota_resource_names() -> None:
    assert kind_of("requests.cpu") == ("", "pods")
    assert kind_of("memory") == ("", "pods")
    assert kind_of("pods") == ("", "pods")
    assert kind_of("services.nodeports") == ("", "services")
    assert kind_of("requests.storage") == ("", "persistentvolumeclaims")
    assert kind_of("gold.storageclass.storage.k8s.io/requests.storage") == (
        "",
        "persistentvolumeclaims",
    )
    assert kind_of("count/deployments.apps") == ("apps", "deployments")
    assert kind_of("count/configmaps") == ("", "configmaps")
    assert kind_of("secrets") == ("", "secrets")


def _pod(
    cpu: str, memory: str = "", phase: str = "Running", best_effort: bool = False
) -> dict[str, Any]:
    requests = {} if best_effort else {"cpu": cpu, **({"memory": memory} if memory else {})}
    resources = {"requests": requests} if requests else {}
    return {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "resources": resources}]},
        "status": {"phase": phase},
    }


def test_compute_used_sums_and_respects_scopes() -> None:
    quota = {
        "spec": {
            "hard": {"pods": "10", "requests.cpu": "4", "requests.memory": "8Gi", "count/pods": "9"}
        }
    }
    pods = [_pod("500m", "1Gi"), _pod("1", "512Mi"), _pod("2", "1Gi", phase="Succeeded")]
    used = compute_used(quota, {("", "pods"): pods})
    assert used == {
        "count/pods": "3",
        "pods": "2",
        "requests.cpu": "1500m",
        "requests.memory": "1536Mi",
    }
    scoped = {"spec": {"hard": {"pods": "5"}, "scopes": ["BestEffort"]}}
    assert compute_used(scoped, {("", "pods"): [*pods, _pod("", best_effort=True)]}) == {
        "pods": "1"
    }
    assert compute_used({"spec": {"hard": {"services": "3"}}}, {}) == {"services": "0"}


def test_budget_arithmetic() -> None:
    assert scaled("50%", 3) == 2
    assert scaled("10%", 4) == 1
    assert scaled(2, 10) == 2
    now = datetime.now(UTC)
    ready = {"type": "Ready", "status": "True"}
    pods: list[dict[str, Any]] = [
        {"metadata": {"name": f"p{i}"}, "status": {"conditions": [ready]}} for i in range(3)
    ]
    pods[2]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    recent = (now - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pdb = {"status": {"disruptedPods": {"p0": recent, "p1": stale, "gone": recent}}}
    disrupted, recheck = disrupted_map(pdb, pods, now)
    assert set(disrupted) == {"p0"}
    assert recheck is not None
    assert count_healthy(pods, disrupted, now) == 1

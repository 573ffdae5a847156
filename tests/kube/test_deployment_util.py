"""Deployment arithmetic without a server: fenceposts, proportions, annotations,
conditions, the pod-template hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from corral.kube.deployment import util
from corral.kube.templatehash import (
    compute_hash,
    equal_ignore_hash,
    fnv32a,
    safe_encode,
    without_hash,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def deployment(replicas: int, surge: Any = "25%", unavailable: Any = "25%") -> dict[str, Any]:
    return {
        "metadata": {"name": "d", "generation": 1, "annotations": {}},
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": []}},
            "progressDeadlineSeconds": 600,
        },
    }


def rs(name: str, replicas: int, created: int = 0, **notes: str) -> dict[str, Any]:
    stamp = (NOW + timedelta(seconds=created)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {"name": name, "uid": name, "creationTimestamp": stamp, "annotations": notes},
        "spec": {"replicas": replicas},
    }


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        (10, "25%", "25%", (3, 2)),  # surge rounds up, unavailable down
        (3, "25%", "25%", (1, 0)),
        (1, "25%", "25%", (1, 0)),
        (4, 1, 1, (1, 1)),
        (10, 0, "5%", (0, 1)),  # both zero after rounding: one may be unavailable
        (10, "0%", 0, (0, 1)),
        (5, "100%", "100%", (5, 5)),
    ],
)
def test_fenceposts_round_like_kubernetes(
    replicas: int, surge: Any, unavailable: Any, expected: tuple[int, int]
) -> None:
    assert util.resolve_fenceposts(deployment(replicas, surge, unavailable)) == expected


def test_max_unavailable_is_capped_and_zero_for_recreate() -> None:
    assert util.max_unavailable(deployment(2, 0, 5)) == 2
    assert util.max_unavailable(deployment(0)) == 0
    recreate = deployment(5)
    recreate["spec"]["strategy"] = {"type": "Recreate"}
    assert util.max_surge(recreate) == 0
    assert util.max_unavailable(recreate) == 0
    assert util.new_rs_new_replicas(recreate, [], rs("n", 0)) == 5


def test_new_replica_set_grows_within_max_surge() -> None:
    d = deployment(10, 3, 2)
    new = rs("new", 0)
    assert util.new_rs_new_replicas(d, [rs("old", 10), new], new) == 3
    new = rs("new", 3)
    assert util.new_rs_new_replicas(d, [rs("old", 10), new], new) == 3  # at 13 already
    assert util.new_rs_new_replicas(d, [rs("old", 8), new], new) == 5


def test_proportions_follow_the_documented_example() -> None:
    d = deployment(15, 3, 2)
    old = rs("old", 8, 0, **{util.MAX_REPLICAS: "13"})
    new = rs("new", 5, 1, **{util.MAX_REPLICAS: "13"})
    to_add = 15 + 3 - 13
    first = util.proportion(d, old, to_add, 0)
    second = util.proportion(d, new, to_add, first)
    assert (first, second) == (3, 2)
    assert util.round_half_away(2.5) == 3
    assert util.round_half_away(-2.5) == -3


def test_sorting_orders() -> None:
    a, b, c = rs("a", 2, 0), rs("b", 5, 1), rs("c", 2, 2)
    assert [r["metadata"]["name"] for r in util.by_size_newer([a, b, c])] == ["b", "c", "a"]
    assert [r["metadata"]["name"] for r in util.by_size_older([a, b, c])] == ["b", "a", "c"]
    revs = [rs("x", 0, 0, **{util.REVISION: "3"}), rs("y", 0, 1, **{util.REVISION: "1"})]
    assert [r["metadata"]["name"] for r in util.by_revision(revs)] == ["y", "x"]


def test_new_rs_annotations_on_create_and_on_rollback() -> None:
    d = deployment(3)
    d["metadata"]["annotations"] = {
        "kubernetes.io/change-cause": "why",
        util.LAST_APPLIED: "{}",
        util.REVISION: "7",
    }
    fresh: dict[str, Any] = {"metadata": {}}
    assert util.set_new_rs_annotations(d, fresh, "1", exists=False)
    assert fresh["metadata"]["annotations"] == {
        "kubernetes.io/change-cause": "why",
        util.REVISION: "1",
        util.DESIRED_REPLICAS: "3",
        util.MAX_REPLICAS: "4",
    }
    # Rolled back to: the revision rises, the old one goes into the history.
    old = rs("old", 0, 0, **{util.REVISION: "1", util.REVISION_HISTORY: "0"})
    assert util.set_new_rs_annotations(d, old, "3", exists=True)
    notes = old["metadata"]["annotations"]
    assert notes[util.REVISION] == "3"
    assert notes[util.REVISION_HISTORY] == "0,1"
    assert not util.set_new_rs_annotations(d, old, "3", exists=True)


def test_set_condition_keeps_transition_time_and_skips_same_reason() -> None:
    st: dict[str, Any] = {}
    util.set_condition(st, util.new_condition("Progressing", "True", "A", "m", NOW))
    later = NOW + timedelta(seconds=5)
    util.set_condition(st, util.new_condition("Progressing", "True", "A", "changed", later))
    assert st["conditions"][0]["message"] == "m"  # same status and reason: untouched
    util.set_condition(st, util.new_condition("Progressing", "True", "B", "m2", later))
    cond = st["conditions"][0]
    assert cond["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert cond["lastUpdateTime"] == "2026-01-01T00:00:05Z"
    util.set_condition(st, util.new_condition("Progressing", "False", "C", "m3", later))
    assert st["conditions"][0]["lastTransitionTime"] == "2026-01-01T00:00:05Z"


def test_timed_out_and_complete() -> None:
    d = deployment(1)
    d["spec"]["progressDeadlineSeconds"] = 10
    st: dict[str, Any] = {}
    util.set_condition(st, util.new_condition("Progressing", "True", "ReplicaSetUpdated", "", NOW))
    assert not util.deployment_timed_out(d, st, NOW + timedelta(seconds=10))
    assert util.deployment_timed_out(d, st, NOW + timedelta(seconds=11))
    full = {"updatedReplicas": 1, "replicas": 1, "availableReplicas": 1, "observedGeneration": 1}
    assert util.deployment_complete(d, full)
    assert not util.deployment_complete(d, {**full, "observedGeneration": 0})


def test_calculate_status_counts_and_available_condition() -> None:
    d = deployment(4, 1, 1)
    old = rs("old", 1)
    old["status"] = {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    new = rs("new", 3)
    new["status"] = {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2}
    st = util.calculate_status(d, [old, new], new, NOW)
    assert {k: v for k, v in st.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 4,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "unavailableReplicas": 1,
    }
    assert st["conditions"][0]["reason"] == "MinimumReplicasAvailable"
    new["status"]["availableReplicas"] = 1
    st = util.calculate_status(d, [old, new], new, NOW)
    assert st["conditions"][0]["reason"] == "MinimumReplicasUnavailable"


def test_pod_template_hash_is_stable_and_safe() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}
    value = compute_hash(template)
    # A fixed value: the hash must never change between releases or restarts.
    assert value == compute_hash({"spec": {"containers": [{"name": "c"}]}, **template})
    assert value == "56678f7d9c"
    assert set(value) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert compute_hash(template, 1) != value
    # Nulls and empty values do not count, as in Go's typed comparison.
    with_null = {
        "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
        "spec": {"containers": [{"name": "c", "env": []}]},
    }
    assert compute_hash(with_null) == value
    assert equal_ignore_hash(with_null, template)
    hashed = {
        "metadata": {"labels": {"app": "web", "pod-template-hash": value}},
        "spec": template["spec"],
    }
    assert equal_ignore_hash(hashed, template)
    assert without_hash(hashed) == template
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert safe_encode("0123456789") == "456789bcdf"

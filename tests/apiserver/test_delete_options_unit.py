"""DeleteOptions and what a delete does to an object: the rules, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from corral.apiserver.bootstrap import ensure_system_namespaces
from corral.apiserver.registry import Registry, ResourceType
from corral.apiserver.store import create_object, delete_object, get_object
from corral.apiserver.store.deleteoptions import DeleteOptions, gc_finalizers, parse_delete_options
from corral.apiserver.store.deletion import Outcome, plan_delete
from corral.machinery.status import BadRequest, Invalid
from corral.storage import MemoryBackend

REGISTRY = Registry.builtin()
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def rt(resource: str, group: str = "") -> ResourceType:
    found = REGISTRY.lookup(group, "v1", resource)
    assert found is not None
    return found


POD, CM, NS, DEPLOY = rt("pods"), rt("configmaps"), rt("namespaces"), rt("deployments", "apps")


def pod(node: str = "n1", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "generation": 1, **meta},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 30},
    }


def test_orphan_dependents_and_policy_together_is_invalid() -> None:
    with pytest.raises(Invalid) as info:
        parse_delete_options({"orphanDependents": True, "propagationPolicy": "Foreground"})
    assert str(info.value) == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: '
        '"Foreground": orphanDependents and deletionPropagation cannot be both set'
    )


def test_unknown_policy_names_the_field() -> None:
    with pytest.raises(Invalid) as info:
        parse_delete_options({"propagationPolicy": "Later"})
    status = info.value.to_status()
    assert status["code"] == 422
    assert status["details"]["causes"][0]["field"] == "propagationPolicy"
    assert "supported values" in status["message"]


def test_wrong_types_and_dry_run_values() -> None:
    with pytest.raises(BadRequest):
        parse_delete_options({"gracePeriodSeconds": "5"})
    with pytest.raises(BadRequest):
        parse_delete_options({"orphanDependents": "yes"})
    with pytest.raises(Invalid, match="dryRun"):
        parse_delete_options({"dryRun": ["Some"]})
    assert parse_delete_options({"dryRun": ["All"]}).dry_run
    assert parse_delete_options({"gracePeriodSeconds": -5}).grace_period_seconds == 1


@pytest.mark.parametrize(
    ("finalizers", "options", "expected"),
    [
        ([], {"propagationPolicy": "Orphan"}, ["orphan"]),
        ([], {"orphanDependents": True}, ["orphan"]),
        ([], {"propagationPolicy": "Foreground"}, ["foregroundDeletion"]),
        ([], {"propagationPolicy": "Background"}, None),
        ([], {}, None),
        (["orphan"], {"propagationPolicy": "Background"}, []),
        (["orphan"], {"orphanDependents": False}, []),
        (["x/y", "orphan"], {"propagationPolicy": "Foreground"}, ["x/y", "foregroundDeletion"]),
        (["orphan"], {}, None),
        (["foregroundDeletion"], {}, None),
    ],
)
def test_gc_finalizers(
    finalizers: list[str], options: dict[str, Any], expected: list[str] | None
) -> None:
    assert gc_finalizers(finalizers, parse_delete_options(options)) == expected


def test_bound_pod_is_deleted_gracefully() -> None:
    obj = pod()
    assert plan_delete(POD, obj, DeleteOptions(), NOW) is Outcome.MARK
    assert obj["metadata"]["deletionTimestamp"] == "2030-01-02T03:04:35Z"
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30
    assert obj["metadata"]["generation"] == 2


def test_grace_period_shortens_but_never_lengthens() -> None:
    obj = pod(deletionTimestamp="2030-01-02T03:04:35Z", deletionGracePeriodSeconds=30)
    assert plan_delete(POD, obj, DeleteOptions(grace_period_seconds=60), NOW) is Outcome.KEEP
    assert plan_delete(POD, obj, DeleteOptions(), NOW) is Outcome.KEEP
    assert plan_delete(POD, obj, DeleteOptions(grace_period_seconds=10), NOW) is Outcome.MARK
    assert obj["metadata"]["deletionTimestamp"] == "2030-01-02T03:04:15Z"
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 10
    assert plan_delete(POD, obj, DeleteOptions(grace_period_seconds=0), NOW) is Outcome.REMOVE


def test_shortening_into_the_past_keeps_one_second() -> None:
    obj = pod(deletionTimestamp="2030-01-02T03:04:06Z", deletionGracePeriodSeconds=30)
    assert plan_delete(POD, obj, DeleteOptions(grace_period_seconds=5), NOW) is Outcome.MARK
    assert obj["metadata"]["deletionTimestamp"] == "2030-01-02T03:04:05Z"
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 1


def test_pending_grace_keeps_finalizers_as_they_are() -> None:
    obj = pod(deletionTimestamp="2030-01-02T03:04:35Z", deletionGracePeriodSeconds=30)
    options = parse_delete_options({"propagationPolicy": "Orphan"})
    assert plan_delete(POD, obj, options, NOW) is Outcome.KEEP
    assert "finalizers" not in obj["metadata"]


@pytest.mark.parametrize(
    "obj",
    [
        pod(node=""),
        {**pod(), "status": {"phase": "Succeeded"}},
        {**pod(), "status": {"phase": "Failed"}},
    ],
)
def test_unbound_or_finished_pods_go_at_once(obj: dict[str, Any]) -> None:
    assert plan_delete(POD, obj, DeleteOptions(), NOW) is Outcome.REMOVE


def test_grace_zero_with_finalizers_marks() -> None:
    obj = pod(finalizers=["x/y"])
    assert plan_delete(POD, obj, DeleteOptions(grace_period_seconds=0), NOW) is Outcome.MARK
    assert obj["metadata"]["deletionTimestamp"] == "2030-01-02T03:04:05Z"
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 0


def test_other_kinds_ignore_the_grace_period() -> None:
    obj = {"metadata": {"name": "c"}}
    assert plan_delete(CM, obj, DeleteOptions(grace_period_seconds=30), NOW) is Outcome.REMOVE


def test_orphan_marks_then_background_removes() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "d", "generation": 3}, "spec": {}}
    orphan = parse_delete_options({"propagationPolicy": "Orphan"})
    assert plan_delete(DEPLOY, obj, orphan, NOW) is Outcome.MARK
    meta = obj["metadata"]
    assert meta["finalizers"] == ["orphan"]
    assert (meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"]) == (
        "2030-01-02T03:04:05Z",
        0,
    )
    assert meta["generation"] == 4
    later = datetime(2030, 1, 2, 3, 9, 0, tzinfo=UTC)
    assert plan_delete(DEPLOY, obj, DeleteOptions(), later) is Outcome.MARK
    assert meta["deletionTimestamp"] == "2030-01-02T03:04:05Z"
    assert meta["generation"] == 4
    background = parse_delete_options({"propagationPolicy": "Background"})
    assert plan_delete(DEPLOY, obj, background, later) is Outcome.REMOVE


def test_namespace_terminates() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]}}
    assert plan_delete(NS, obj, DeleteOptions(), NOW) is Outcome.MARK
    assert obj["status"]["phase"] == "Terminating"


async def test_dry_run_in_the_options_changes_nothing() -> None:
    backend = MemoryBackend()
    await backend.start()
    await ensure_system_namespaces(backend, REGISTRY)
    made = await create_object(backend, CM, "default", {"metadata": {"name": "c"}}, dry_run=False)
    before = made.obj["metadata"]["resourceVersion"]
    options = {"propagationPolicy": "Orphan", "dryRun": ["All"]}
    shown, gone = await delete_object(backend, CM, "default", "c", options)
    assert not gone
    assert shown.obj["metadata"]["finalizers"] == ["orphan"]
    stored = await get_object(backend, CM, "default", "c")
    assert stored.obj["metadata"]["resourceVersion"] == before
    assert "finalizers" not in stored.obj["metadata"]
    _, gone = await delete_object(backend, CM, "default", "c", {"dryRun": ["All"]})
    assert gone
    assert (await get_object(backend, CM, "default", "c")).obj["metadata"]["name"] == "c"
    await backend.close()

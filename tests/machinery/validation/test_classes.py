"""PriorityClasses and StorageClasses: defaults, creation limits, and what may not change."""

from __future__ import annotations

from typing import Any

from corral.machinery.validation import strategy_for

SCHEDULING = "scheduling.k8s.io"
STORAGE = "storage.k8s.io"


def create(group: str, resource: str, obj: dict[str, Any]) -> list[str]:
    strategy = strategy_for(group, resource)
    strategy.default(obj)
    return [str(e) for e in strategy.validate_create(obj)]


def update(group: str, resource: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    strategy = strategy_for(group, resource)
    strategy.default(old)
    strategy.default(new)
    return [str(e) for e in strategy.validate_update(new, old)]


def priority(name: str = "high", value: int = 1000, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "value": value, **fields}


def storage(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": "fast"}, "provisioner": "example.com/fast", **fields}


def test_a_priority_class_defaults_its_preemption_policy() -> None:
    obj = priority()
    assert create(SCHEDULING, "priorityclasses", obj) == []
    assert obj["preemptionPolicy"] == "PreemptLowerPriority"
    never = priority(preemptionPolicy="Never")
    assert create(SCHEDULING, "priorityclasses", never) == []
    assert never["preemptionPolicy"] == "Never"


def test_user_priorities_are_capped_and_system_names_reserved() -> None:
    assert create(SCHEDULING, "priorityclasses", priority(value=1_000_000_000)) == []
    assert create(SCHEDULING, "priorityclasses", priority(value=1_000_000_001)) == [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    ]
    reserved = (
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved "
        "for system use only."
    )
    assert create(SCHEDULING, "priorityclasses", priority("system-mine")) == [reserved]
    assert create(SCHEDULING, "priorityclasses", priority("system-node-critical")) == [reserved]
    critical = priority("system-node-critical", 2_000_001_000)
    assert create(SCHEDULING, "priorityclasses", critical) == []


def test_a_priority_class_value_and_policy_never_change() -> None:
    old = priority()
    assert update(SCHEDULING, "priorityclasses", priority(description="x"), old) == []
    assert update(SCHEDULING, "priorityclasses", priority(value=2000), old) == [
        "value: Forbidden: may not be changed in an update."
    ]
    assert update(SCHEDULING, "priorityclasses", priority(preemptionPolicy="Never"), old) == [
        'preemptionPolicy: Invalid value: "Never": field is immutable'
    ]


def test_a_storage_class_defaults_reclaim_and_binding() -> None:
    obj = storage()
    assert create(STORAGE, "storageclasses", obj) == []
    assert (obj["reclaimPolicy"], obj["volumeBindingMode"]) == ("Delete", "Immediate")


def test_a_storage_class_keeps_what_provisioned_volumes_rely_on() -> None:
    old = storage(parameters={"type": "ssd"})
    assert update(STORAGE, "storageclasses", storage(parameters={"type": "ssd"}), old) == []
    assert (
        update(
            STORAGE,
            "storageclasses",
            storage(parameters={"type": "ssd"}, allowVolumeExpansion=True),
            old,
        )
        == []
    )
    changed = storage(
        parameters={"type": "hdd"},
        provisioner="example.com/slow",
        reclaimPolicy="Retain",
        volumeBindingMode="WaitForFirstConsumer",
    )
    assert update(STORAGE, "storageclasses", changed, old) == [
        "parameters: Forbidden: updates to parameters are forbidden.",
        "provisioner: Forbidden: updates to provisioner are forbidden.",
        "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
        'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
    ]

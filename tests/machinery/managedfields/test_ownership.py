"""Ownership on updates and applies, with the built-in schemas (structured-merge-diff rules)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from corral.machinery.managedfields import (
    ApplyConflicts,
    BadListItem,
    Entry,
    UndeclaredField,
    Writer,
    apply_config,
    track_update,
    types_for,
)
from corral.machinery.managedfields.managers import cap_updaters
from corral.machinery.openapi import GVK

DEPLOY = types_for(GVK("apps", "v1", "Deployment"))
CM = types_for(GVK("", "v1", "ConfigMap"))
SVC = types_for(GVK("", "v1", "Service"))


def deployment(replicas: int = 1, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", **container}]},
            },
        },
    }


def by_manager(entries: list[Entry]) -> dict[str, Entry]:
    return {e.manager: e for e in entries}


def test_types_follow_the_schema() -> None:
    spec = DEPLOY.field("spec")
    assert spec is not None
    assert spec.field("selector") is not None
    containers = spec.field("template").field("spec").field("containers")  # type: ignore[union-attr]
    assert containers.keys == ("name",)  # type: ignore[union-attr]
    ports = containers.elem().field("ports")  # type: ignore[union-attr]
    assert ports.keys == ("containerPort", "protocol")  # type: ignore[union-attr]
    assert ports.key_defaults == {"protocol": "TCP"}  # type: ignore[union-attr]
    assert types_for(GVK("apps", "v1", "Deployment")) is DEPLOY  # cached per GVK


def test_an_update_takes_what_it_changed_from_others() -> None:
    old = deployment()
    first = track_update(DEPLOY, None, old, Writer("creator", "apps/v1"), [])
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    new["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": "1"}]
    after = by_manager(track_update(DEPLOY, old, new, Writer("editor", "apps/v1"), first))
    assert after["editor"].fields == {
        "f:spec": {
            "f:replicas": {},
            "f:template": {
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"c"}': {
                            "f:env": {
                                ".": {},
                                'k:{"name":"X"}': {".": {}, "f:name": {}, "f:value": {}},
                            }
                        }
                    }
                }
            },
        }
    }
    assert "f:replicas" not in after["creator"].fields["f:spec"]


def test_an_update_that_changes_nothing_keeps_the_entries() -> None:
    old = deployment()
    first = track_update(DEPLOY, None, old, Writer("creator", "apps/v1"), [])
    assert track_update(DEPLOY, old, copy.deepcopy(old), Writer("x", "apps/v1"), first) is first


def test_removed_fields_leave_every_owner() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    first = track_update(CM, None, cm, Writer("one", "v1"), [])
    emptied = {k: v for k, v in cm.items() if k != "data"}
    after = by_manager(track_update(CM, cm, emptied, Writer("two", "v1"), first))
    assert "one" not in after  # its only field is gone


def test_apply_conflicts_then_force() -> None:
    live = deployment()
    owners = track_update(DEPLOY, None, live, Writer("kubectl-client-side-apply", "apps/v1"), [])
    with pytest.raises(ApplyConflicts) as caught:
        apply_config(
            DEPLOY, live, deployment(replicas=5), Writer("ci", "apps/v1"), owners, force=False
        )
    assert str(caught.value) == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
        "using apps/v1: .spec.replicas"
    )
    merged, after = apply_config(
        DEPLOY, live, deployment(replicas=5), Writer("ci", "apps/v1"), owners, force=True
    )
    assert merged["spec"]["replicas"] == 5
    managers = by_manager(after)
    assert "f:replicas" in managers["ci"].fields["f:spec"]
    assert "f:replicas" not in managers["kubectl-client-side-apply"].fields["f:spec"]


def test_several_conflicts_are_listed_by_manager() -> None:
    live = deployment()
    owners = track_update(DEPLOY, None, live, Writer("a", "apps/v1"), [])
    with pytest.raises(ApplyConflicts) as caught:
        apply_config(
            DEPLOY,
            live,
            deployment(replicas=2, image="j"),
            Writer("ci", "apps/v1"),
            owners,
            force=False,
        )
    assert str(caught.value) == (
        'Apply failed with 2 conflicts: conflicts with "a" using apps/v1:\n'
        '- .spec.replicas\n- .spec.template.spec.containers[name="c"].image'
    )


def test_apply_removes_what_it_no_longer_applies() -> None:
    svc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}, {"port": 443}], "selector": {"a": "b"}},
    }
    me = Writer("ci", "v1")
    live, owners = apply_config(SVC, None, svc, me, [], force=False)
    assert list(owners[0].fields["f:spec"]["f:ports"]) == [
        'k:{"port":443,"protocol":"TCP"}',
        'k:{"port":80,"protocol":"TCP"}',
    ]
    smaller = copy.deepcopy(svc)
    smaller["spec"]["ports"] = [{"port": 80}]
    del smaller["spec"]["selector"]
    result, _ = apply_config(SVC, live, smaller, me, owners, force=False)
    assert result["spec"] == {"ports": [{"port": 80}]}


def test_an_undeclared_field_is_named() -> None:
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["imag"] = "typo"
    with pytest.raises(UndeclaredField) as caught:
        apply_config(DEPLOY, None, body, Writer("ci", "apps/v1"), [], force=False)
    assert str(caught.value) == (
        '.spec.template.spec.containers[name="c"].imag: field not declared in schema'
    )


def test_map_list_items_merge_in_the_configurations_order() -> None:
    live = deployment()
    live["spec"]["template"]["spec"]["containers"] = [
        {"name": "a", "image": "1"},
        {"name": "b", "image": "2"},
    ]
    config = deployment()
    config["spec"]["template"]["spec"]["containers"] = [
        {"name": "c", "image": "3"},
        {"name": "a", "image": "1"},
    ]
    merged, _ = apply_config(DEPLOY, live, config, Writer("ci", "apps/v1"), [], force=False)
    names = [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]]
    assert names == ["c", "a", "b"]


def test_more_than_ten_updaters_fold_the_oldest_into_ancient_changes() -> None:
    entries = [
        Entry(f"m{i:02d}", "Update", "v1", f"2026-01-01T00:00:{i:02d}Z", {f"f:k{i}": {}})
        for i in range(12)
    ]
    entries.append(Entry("applier", "Apply", "v1", "2026-01-01T00:00:00Z", {"f:a": {}}))
    capped = cap_updaters(entries)
    names = sorted(e.manager for e in capped)
    assert names == ["ancient-changes", "applier", *[f"m{i:02d}" for i in range(3, 12)]]
    ancient = next(e for e in capped if e.manager == "ancient-changes")
    assert ancient.fields == {"f:k0": {}, "f:k1": {}, "f:k2": {}}
    assert ancient.time == "2026-01-01T00:00:02Z"


def test_added_pointer_structs_are_owned_themselves_value_structs_not() -> None:
    body = deployment()
    body["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    [entry] = track_update(DEPLOY, None, body, Writer("c", "apps/v1"), [])
    assert entry.fields["f:spec"]["f:strategy"] == {
        "f:rollingUpdate": {".": {}, "f:maxSurge": {}},
        "f:type": {},
    }
    assert "." not in entry.fields["f:spec"]["f:template"]


def test_list_items_without_keys_or_with_duplicates_are_refused() -> None:
    body = deployment()
    body["spec"]["template"]["spec"]["containers"] = [{"image": "x"}]
    with pytest.raises(BadListItem) as caught:
        apply_config(DEPLOY, None, body, Writer("ci", "apps/v1"), [], force=False)
    assert str(caught.value) == (
        ".spec.template.spec.containers: element 0: associative list with keys has an element "
        'that omits key field "name" (and doesn\'t have default value)'
    )
    body["spec"]["template"]["spec"]["containers"] = [{"name": "a"}, {"name": "a"}]
    with pytest.raises(BadListItem) as again:
        apply_config(DEPLOY, None, body, Writer("ci", "apps/v1"), [], force=False)
    assert str(again.value) == (
        '.spec.template.spec.containers: duplicate entries for key [name="a"]'
    )

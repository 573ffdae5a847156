"""Strategic merge patch: documented kubectl behaviour, directives, errors, two-way patches."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.patch import (
    BUILTIN_PATCH_META,
    FieldPatchMeta,
    InvalidPatchError,
    PatchApplyError,
    PatchCreateError,
    PatchError,
    TablePatchMeta,
    UnknownDirectiveError,
    apply_strategic_merge_patch,
    create_two_way_patch,
)


def smp(original: Any, patch: Any) -> Any:
    """Apply with the built-in table, checking that neither input is modified."""
    before = copy.deepcopy((original, patch))
    result = apply_strategic_merge_patch(original, patch)
    assert (original, patch) == before
    return result


def pod_template(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": spec}}}


# --- "Update API Objects in Place Using kubectl patch" --------------------------------------

PATCH_DEMO = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "patch-demo"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}],
            },
        },
    },
}


def test_docs_containers_merge_by_name() -> None:
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}}
        }
    }
    result = smp(PATCH_DEMO, patch)
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "patch-demo-ctr", "image": "nginx"},
        {"name": "patch-demo-ctr-2", "image": "redis"},
    ]
    assert result["spec"]["replicas"] == 2


def test_docs_tolerations_are_replaced() -> None:
    toleration = {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}
    result = smp(PATCH_DEMO, {"spec": {"template": {"spec": {"tolerations": [toleration]}}}})
    assert result["spec"]["template"]["spec"]["tolerations"] == [toleration]


def test_docs_retain_keys_clears_the_other_union_member() -> None:
    deployment = {
        "kind": "Deployment",
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}},
    }
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert smp(deployment, patch)["spec"]["strategy"] == {"type": "Recreate"}
    # Without $retainKeys the map merges and rollingUpdate stays (the server then rejects it).
    merged = smp(deployment, {"spec": {"strategy": {"type": "Recreate"}}})
    assert merged["spec"]["strategy"] == {"type": "Recreate", "rollingUpdate": {"maxSurge": "30%"}}


# --- the directives, with the examples of the strategic-merge-patch design doc -------------


def test_patch_replace_on_a_map() -> None:
    original = pod_template(containers=[{"name": "a", "image": "x"}], hostname="h")
    patch = {"spec": {"template": {"spec": {"$patch": "replace", "containers": [{"name": "b"}]}}}}
    assert smp(original, patch)["spec"]["template"]["spec"] == {"containers": [{"name": "b"}]}


def test_patch_replace_in_a_merge_list() -> None:
    original = pod_template(containers=[{"name": "a"}, {"name": "b"}])
    patch = pod_template(
        containers=[{"name": "nginx", "image": "nginx-1.0"}, {"$patch": "replace"}]
    )
    assert smp(original, patch)["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx-1.0"}
    ]


def test_patch_delete_removes_the_list_element_with_that_key() -> None:
    original = pod_template(containers=[{"name": "nginx"}, {"name": "log-tailer"}])
    patch = pod_template(containers=[{"name": "log-tailer", "$patch": "delete"}])
    assert smp(original, patch)["spec"]["template"]["spec"]["containers"] == [{"name": "nginx"}]


def test_patch_delete_and_null_delete_a_map() -> None:
    original = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    for patch in (
        {"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}},
        {"spec": {"strategy": {"rollingUpdate": None}}},
    ):
        assert smp(original, patch) == {"spec": {"strategy": {"type": "RollingUpdate"}}}


def test_patch_merge_is_the_default() -> None:
    original = {"metadata": {"labels": {"a": "1"}}}
    patch = {"metadata": {"labels": {"$patch": "merge", "b": "2"}}}
    assert smp(original, patch) == {"metadata": {"labels": {"a": "1", "b": "2"}}}


def test_primitive_merge_list_is_a_set_union() -> None:
    original = {"metadata": {"finalizers": ["a", "b"]}}
    result = smp(original, {"metadata": {"finalizers": ["b", "c"]}})
    assert result["metadata"]["finalizers"] == ["a", "b", "c"]


def test_elements_named_in_the_patch_take_the_patch_order() -> None:
    # As kube-apiserver does: "c" and "a" are named in the patch, in that order; "b" is only on
    # the server and "c" (new) cannot be placed before it.
    original = {"metadata": {"finalizers": ["a", "b"]}}
    result = smp(original, {"metadata": {"finalizers": ["c", "a"]}})
    assert result["metadata"]["finalizers"] == ["b", "c", "a"]


def test_delete_from_primitive_list() -> None:
    original = {"metadata": {"finalizers": ["a", "b", "c"]}}
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "c"]}}
    assert smp(original, patch) == {"metadata": {"finalizers": ["a"]}}


def test_set_element_order_of_primitives() -> None:
    original = {"metadata": {"finalizers": ["a", "b", "c"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["b", "c", "a"]}}
    assert smp(original, patch) == {"metadata": {"finalizers": ["b", "c", "a"]}}


def test_set_element_order_of_maps() -> None:
    original = pod_template(containers=[{"name": "a", "i": 1}, {"name": "b"}, {"name": "c"}])
    patch = pod_template(
        **{"$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}]}
    )
    assert smp(original, patch)["spec"]["template"]["spec"]["containers"] == [
        {"name": "b"},
        {"name": "c"},
        {"name": "a", "i": 1},
    ]


def test_set_element_order_places_new_elements() -> None:
    original = pod_template(containers=[{"name": "a"}, {"name": "b"}])
    patch = pod_template(
        containers=[{"name": "x"}],
        **{"$setElementOrder/containers": [{"name": "a"}, {"name": "x"}, {"name": "b"}]},
    )
    names = [c["name"] for c in smp(original, patch)["spec"]["template"]["spec"]["containers"]]
    assert names == ["a", "x", "b"]


def test_without_set_element_order_new_elements_are_appended() -> None:
    original = pod_template(containers=[{"name": "a"}, {"name": "b"}, {"name": "c"}])
    patch = pod_template(containers=[{"name": "b", "image": "new"}, {"name": "z"}])
    names = [c["name"] for c in smp(original, patch)["spec"]["template"]["spec"]["containers"]]
    assert names == ["a", "b", "c", "z"]


def test_retain_keys_in_a_union_map() -> None:
    original = {"union": {"foo": "a", "other": "b"}}
    patch = {"union": {"$retainKeys": ["another", "bar"], "another": "d", "bar": "c"}}
    assert smp(original, patch) == {"union": {"another": "d", "bar": "c"}}


def test_retain_keys_in_volumes_switches_the_volume_source() -> None:
    original = {"spec": {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]}}
    patch = {
        "spec": {
            "volumes": [
                {"name": "v", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}}
            ]
        }
    }
    assert smp(original, patch)["spec"]["volumes"] == [
        {"name": "v", "secret": {"secretName": "s"}},
        {"name": "w", "emptyDir": {}},
    ]


# --- the built-in table ----------------------------------------------------------------------


def test_nested_container_lists_merge_by_their_keys() -> None:
    container = {
        "name": "app",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "name": "http"}],
        "volumeMounts": [{"mountPath": "/data", "name": "data"}],
        "args": ["--a"],
    }
    original = pod_template(containers=[container], imagePullSecrets=[{"name": "one"}])
    patch = pod_template(
        containers=[
            {
                "name": "app",
                "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                "ports": [{"containerPort": 443, "name": "https"}],
                "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                "args": ["--b"],
            }
        ],
        imagePullSecrets=[{"name": "two"}],
    )
    spec = smp(original, patch)["spec"]["template"]["spec"]
    (merged,) = spec["containers"]
    assert merged["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    assert merged["ports"] == [
        {"containerPort": 80, "name": "http"},
        {"containerPort": 443, "name": "https"},
    ]
    assert merged["volumeMounts"] == [{"mountPath": "/data", "name": "data", "readOnly": True}]
    assert merged["args"] == ["--b"], "args has no patch strategy: replaced"
    assert spec["imagePullSecrets"] == [{"name": "one"}, {"name": "two"}]


@pytest.mark.parametrize(
    "prefix",
    [
        ("spec",),
        ("template", "spec"),
        ("spec", "template", "spec"),
        ("spec", "jobTemplate", "spec", "template", "spec"),
    ],
    ids=["Pod", "PodTemplate", "workloads", "CronJob"],
)
def test_pod_spec_paths_of_every_workload_kind(prefix: tuple[str, ...]) -> None:
    def at(value: Any) -> Any:
        for key in reversed(prefix):
            value = {key: value}
        return value

    original = at({"initContainers": [{"name": "init", "image": "a"}], "volumes": [{"name": "v"}]})
    patch = at({"initContainers": [{"name": "init2"}], "volumes": [{"name": "w"}]})
    result = smp(original, patch)
    for key in prefix:
        result = result[key]
    assert [c["name"] for c in result["initContainers"]] == ["init", "init2"]
    assert [v["name"] for v in result["volumes"]] == ["v", "w"]


def test_metadata_service_and_status_lists() -> None:
    original = {
        "metadata": {"ownerReferences": [{"uid": "1", "name": "a"}], "finalizers": ["x"]},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Other"}]},
    }
    patch = {
        "metadata": {"ownerReferences": [{"uid": "1", "controller": True}, {"uid": "2"}]},
        "spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    result = smp(original, patch)
    assert result["metadata"]["ownerReferences"] == [
        {"uid": "1", "name": "a", "controller": True},
        {"uid": "2"},
    ]
    assert result["metadata"]["finalizers"] == ["x"]
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Other"},
    ]


def test_unknown_fields_merge_maps_and_replace_lists() -> None:
    original = {"data": {"a": "1"}, "spec": {"things": [{"name": "a"}]}}
    patch = {"data": {"b": "2"}, "spec": {"things": [{"name": "b"}]}}
    assert smp(original, patch) == {
        "data": {"a": "1", "b": "2"},
        "spec": {"things": [{"name": "b"}]},
    }


def test_builtin_table_entries() -> None:
    containers = BUILTIN_PATCH_META.lookup(("spec", "template", "spec", "containers"))
    assert containers == FieldPatchMeta.parse("merge", "name")
    volumes = BUILTIN_PATCH_META.lookup(("spec", "volumes"))
    assert volumes is not None
    assert (volumes.merge, volumes.retain_keys, volumes.merge_key) == (True, True, "name")
    tolerations = BUILTIN_PATCH_META.lookup(("spec", "template", "spec", "tolerations"))
    assert tolerations is not None
    assert not tolerations.merge
    finalizers = BUILTIN_PATCH_META.lookup(("metadata", "finalizers"))
    assert finalizers == FieldPatchMeta(frozenset({"merge"}), None, "primitive")
    env = BUILTIN_PATCH_META.lookup(
        ("spec", "jobTemplate", "spec", "template", "spec", "ephemeralContainers", "env")
    )
    assert env is not None
    assert env.merge_key == "name"
    assert BUILTIN_PATCH_META.lookup(("metadata", "labels")) is None


def test_field_patch_meta_rejects_unknown_strategies() -> None:
    with pytest.raises(ValueError, match="unknown patch strategy"):
        FieldPatchMeta.parse("merge,frob")
    with pytest.raises(ValueError, match="exclude each other"):
        FieldPatchMeta.parse("merge,replace")


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "error", "message"),
    [
        (["a"], InvalidPatchError, "must be a JSON object, not an array"),
        ({"spec": {"$frob": 1}}, UnknownDirectiveError, 'unknown directive "\\$frob" in spec'),
        (
            {"spec": {"$patch": "frob"}},
            UnknownDirectiveError,
            'unknown "\\$patch" directive "frob"',
        ),
        (
            pod_template(containers=[{"name": "a", "$patch": "frob"}]),
            UnknownDirectiveError,
            r"spec\.template\.spec\.containers\[0\]",
        ),
        ({"$patch": "delete"}, InvalidPatchError, "cannot delete the whole object"),
        (pod_template(containers=[{"image": "x"}]), InvalidPatchError, 'no merge key "name"'),
        (pod_template(containers=[{"$patch": "delete"}]), InvalidPatchError, 'no merge key "name"'),
        (pod_template(containers=["a"]), InvalidPatchError, "must be an object, not a string"),
        ({"metadata": {"finalizers": [{"a": 1}]}}, InvalidPatchError, "list of primitives"),
        (
            {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
            InvalidPatchError,
            "must be a list",
        ),
        ({"spec": {"strategy": {"$retainKeys": "type"}}}, InvalidPatchError, "list of strings"),
        (
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}},
            InvalidPatchError,
            "missing: rollingUpdate",
        ),
        (
            pod_template(
                containers=[{"name": "b"}], **{"$setElementOrder/containers": [{"name": "a"}]}
            ),
            InvalidPatchError,
            'does not list the element "b"',
        ),
        (
            pod_template(
                containers=[{"name": "b"}, {"name": "a"}],
                **{"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}]},
            ),
            InvalidPatchError,
            "not in \\$setElementOrder's order",
        ),
    ],
)
def test_malformed_patches(patch: Any, error: type[PatchError], message: str) -> None:
    original = pod_template(containers=[{"name": "a"}])
    original["metadata"] = {"finalizers": ["a"]}
    with pytest.raises(error, match=message) as info:
        apply_strategic_merge_patch(original, patch)
    assert info.value.status_code == 400


def test_a_primitive_merge_list_holding_objects_on_the_server_does_not_fit() -> None:
    with pytest.raises(PatchApplyError, match="cannot merge as a list of primitives"):
        apply_strategic_merge_patch(
            {"metadata": {"finalizers": [{}]}}, {"metadata": {"finalizers": ["a"]}}
        )


def test_result_shares_nothing_with_the_inputs() -> None:
    original = pod_template(containers=[{"name": "a", "args": ["x"]}])
    patch = pod_template(containers=[{"name": "b", "args": ["y"]}])
    result = apply_strategic_merge_patch(original, patch)
    for container in result["spec"]["template"]["spec"]["containers"]:
        container["args"].append("changed")
    assert original == pod_template(containers=[{"name": "a", "args": ["x"]}])
    assert patch == pod_template(containers=[{"name": "b", "args": ["y"]}])


# --- two-way patches -------------------------------------------------------------------------


def test_two_way_patch_has_the_kubectl_shape() -> None:
    original = pod_template(
        containers=[{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis"}],
        tolerations=[{"key": "k"}],
    )
    original["metadata"] = {"finalizers": ["f1", "f2"], "labels": {"x": "1"}}
    modified = pod_template(
        containers=[{"name": "a", "image": "nginx:2"}, {"name": "c", "image": "busybox"}],
        tolerations=[{"key": "k"}, {"key": "j"}],
    )
    modified["metadata"] = {"finalizers": ["f1", "f3"], "labels": {}}
    patch = create_two_way_patch(original, modified)
    assert patch == {
        "metadata": {
            "finalizers": ["f3"],
            "$deleteFromPrimitiveList/finalizers": ["f2"],
            "$setElementOrder/finalizers": ["f1", "f3"],
            "labels": {"x": None},
        },
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "image": "nginx:2"},
                        {"name": "c", "image": "busybox"},
                        {"name": "b", "$patch": "delete"},
                    ],
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
                    "tolerations": [{"key": "k"}, {"key": "j"}],
                }
            }
        },
    }
    assert apply_strategic_merge_patch(original, patch) == modified


def test_two_way_patch_of_equal_objects_is_empty() -> None:
    assert create_two_way_patch(PATCH_DEMO, copy.deepcopy(PATCH_DEMO)) == {}


def test_two_way_patch_reorder_only() -> None:
    original = pod_template(containers=[{"name": "a"}, {"name": "b"}])
    modified = pod_template(containers=[{"name": "b"}, {"name": "a"}])
    patch = create_two_way_patch(original, modified)
    order = [{"name": "b"}, {"name": "a"}]
    assert patch == {"spec": {"template": {"spec": {"$setElementOrder/containers": order}}}}
    assert apply_strategic_merge_patch(original, patch) == modified


def test_two_way_patch_adds_retain_keys_for_union_fields() -> None:
    original = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    modified = {"spec": {"strategy": {"type": "Recreate"}}}
    patch = create_two_way_patch(original, modified)
    assert patch == {
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}
    }


def test_two_way_patch_replaces_lists_it_cannot_diff_by_key() -> None:
    original = pod_template(containers=[{"name": "a"}])
    modified = pod_template(containers=[{"name": "a", "image": "1"}, {"name": "a", "image": "2"}])
    patch = create_two_way_patch(original, modified)
    assert patch["spec"]["template"]["spec"]["containers"][-1] == {"$patch": "replace"}
    assert apply_strategic_merge_patch(original, patch) == modified


def test_two_way_patch_rejects_what_no_patch_can_express() -> None:
    with pytest.raises(PatchCreateError, match="merges by 'name'"):
        create_two_way_patch({}, pod_template(containers=["a"]))
    with pytest.raises(PatchCreateError, match="set of primitives"):
        create_two_way_patch({}, {"metadata": {"finalizers": [{"a": 1}]}})
    with pytest.raises(PatchCreateError, match="two JSON objects"):
        create_two_way_patch([], {})  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------

META = TablePatchMeta(
    {
        "items": FieldPatchMeta.parse("merge", "name"),
        "items.tags": FieldPatchMeta.parse("merge", None, "primitive"),
        "items.env": FieldPatchMeta.parse("merge", "name"),
        "tags": FieldPatchMeta.parse("merge", None, "primitive"),
        "vols": FieldPatchMeta.parse("merge,retainKeys", "name"),
        "union": FieldPatchMeta.parse("retainKeys"),
        "whole": FieldPatchMeta.parse("replace"),
    }
)

_names = st.sampled_from(["a", "b", "c", "d", "e"])
_scalars = st.booleans() | st.integers(-2, 2) | st.text("xy", max_size=2)
_plain = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children | st.none(), max_size=3)
        | st.dictionaries(st.sampled_from(["p", "q", "r"]), children, max_size=3)
    ),
    max_leaves=6,
)
_tag_lists = st.lists(st.sampled_from(["t1", "t2", "t3", "t4"]) | st.integers(0, 2), unique=True)
_env = st.lists(
    st.fixed_dictionaries({"name": _names}, optional={"value": _scalars}),
    unique_by=lambda e: e["name"],
    max_size=4,
)
_item = st.fixed_dictionaries(
    {"name": _names},
    optional={"value": _plain, "tags": _tag_lists, "env": _env, "sub": _plain},
)
_vol = st.fixed_dictionaries({"name": _names}).flatmap(
    lambda base: st.sampled_from(["secret", "configMap", "emptyDir"]).flatmap(
        lambda source: _plain.map(lambda value: {**base, source: value})
    )
)
_union = st.fixed_dictionaries(
    {"type": st.just("A")}, optional={"a": _plain}
) | st.fixed_dictionaries({"type": st.just("B")}, optional={"b": _plain})


def _objects(items: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "items": items,
            "tags": _tag_lists,
            "vols": st.lists(_vol, unique_by=lambda v: str(v["name"]), max_size=4),
            "union": _union,
            "whole": st.dictionaries(st.sampled_from(["p", "q"]), _plain, max_size=2),
            "atomic": st.lists(_plain, max_size=3),
            "meta": st.dictionaries(st.sampled_from(["x", "y", "z"]), _plain, max_size=3),
            "scalar": _scalars,
        },
    )


_unique_objects = _objects(st.lists(_item, unique_by=lambda e: e["name"], max_size=5))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@given(_unique_objects, _unique_objects)
def test_apply_of_two_way_patch_gives_modified(a: dict[str, Any], b: dict[str, Any]) -> None:
    before = _canonical((a, b))
    patch = create_two_way_patch(a, b, META)
    assert "$patch" not in json.dumps(patch).replace('"$patch": "delete"', "")
    result = apply_strategic_merge_patch(a, patch, META)
    assert _canonical(result) == _canonical(b)
    assert _canonical((a, b)) == before


@given(_objects(st.lists(_item, max_size=4)), _objects(st.lists(_item, max_size=4)))
def test_two_way_patch_with_duplicate_keys_falls_back_to_replace(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    patch = create_two_way_patch(a, b, META)
    assert _canonical(apply_strategic_merge_patch(a, patch, META)) == _canonical(b)


@given(_unique_objects, _unique_objects)
def test_two_way_patch_of_an_object_with_itself_is_empty(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    assert create_two_way_patch(a, copy.deepcopy(a), META) == {}
    assert create_two_way_patch(b, b, META) == {}

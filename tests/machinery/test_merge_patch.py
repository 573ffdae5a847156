"""JSON Merge Patch (RFC 7386): the RFC examples, the object-only rule, minimal patches."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.patch import InvalidPatchError, apply_merge_patch, create_merge_patch


def test_rfc7386_section3_example() -> None:
    target = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged",
    }
    patch = {
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": None},
        "tags": ["example"],
    }
    assert apply_merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


@pytest.mark.parametrize(
    ("original", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_rfc7386_appendix_a(original: Any, patch: Any, result: Any) -> None:
    assert apply_merge_patch(original, patch, require_object=False) == result


@pytest.mark.parametrize("patch", [["c"], None, "bar", 1])
def test_a_patch_for_an_object_must_be_an_object(patch: Any) -> None:
    with pytest.raises(InvalidPatchError, match="a merge patch must be a JSON object") as info:
        apply_merge_patch({"a": 1}, patch)
    assert info.value.status_code == 400


def test_kubectl_docs_merge_patch_replaces_the_containers_list() -> None:
    # "Update API Objects in Place Using kubectl patch": with --type merge the list is replaced.
    deployment = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "patch-demo-ctr", "image": "nginx"},
                        {"name": "patch-demo-ctr-2", "image": "redis"},
                    ]
                }
            }
        }
    }
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}
                    ]
                }
            }
        }
    }
    result = apply_merge_patch(deployment, patch)
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}
    ]


def test_inputs_are_not_modified_and_not_shared() -> None:
    target = {"a": {"b": [1]}, "c": {"d": 1}}
    patch = {"a": {"e": {"f": [2]}}, "c": None}
    result = apply_merge_patch(target, patch)
    assert result == {"a": {"b": [1], "e": {"f": [2]}}}
    result["a"]["b"].append(9)
    result["a"]["e"]["f"].append(9)
    assert target == {"a": {"b": [1]}, "c": {"d": 1}}
    assert patch == {"a": {"e": {"f": [2]}}, "c": None}


def test_create_merge_patch_is_minimal() -> None:
    original = {"metadata": {"labels": {"a": "1", "b": "2"}, "name": "x"}, "spec": {"n": 1}}
    modified = {"metadata": {"labels": {"a": "1", "c": "3"}, "name": "x"}, "spec": {"n": 1}}
    assert create_merge_patch(original, modified) == {"metadata": {"labels": {"b": None, "c": "3"}}}
    assert create_merge_patch(original, original) == {}


def test_create_merge_patch_distinguishes_booleans_from_numbers() -> None:
    assert create_merge_patch({"a": 1}, {"a": True}) == {"a": True}
    assert create_merge_patch({"a": 1}, {"a": 1.0}) == {}


def test_create_merge_patch_for_non_objects_is_the_new_value() -> None:
    assert create_merge_patch([1], {"a": 1}) == {"a": 1}
    assert create_merge_patch({"a": 1}, [1]) == [1]


# Merge patches cannot set null inside an object, so generated objects hold null only in arrays.
# No floats: 1 and 1.0 are the same JSON number, which would make the textual comparison flaky.
_scalars = st.booleans() | st.integers(-3, 3) | st.text("xyz", max_size=3)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children | st.none(), max_size=3)
        | st.dictionaries(st.sampled_from("abcde"), children, max_size=4)
    ),
    max_leaves=15,
)
_objects = st.dictionaries(st.sampled_from("abcde"), _values, max_size=5)


@given(_objects, _objects)
def test_apply_of_created_merge_patch_gives_modified(a: Any, b: Any) -> None:
    patch = create_merge_patch(a, b)
    result = apply_merge_patch(a, patch)
    assert json.dumps(result, sort_keys=True) == json.dumps(b, sort_keys=True)


@given(_objects, _objects)
def test_merge_patch_never_mutates_its_inputs(a: Any, b: Any) -> None:
    a_before, b_before = json.dumps(a), json.dumps(b)
    apply_merge_patch(a, b)
    assert (json.dumps(a), json.dumps(b)) == (a_before, b_before)

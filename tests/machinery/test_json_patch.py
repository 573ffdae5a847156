"""JSON Patch (RFC 6902) and JSON Pointer (RFC 6901): the RFC examples, errors, atomicity."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.patch import (
    InvalidPatchError,
    PatchApplyError,
    PatchError,
    PatchTestFailedError,
    apply_json_patch,
    format_pointer,
    parse_pointer,
)

# --- RFC 6902 appendix A ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "patch", "expected"),
    [
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"baz": "qux", "foo": "bar"},
            id="A.1 add object member",
        ),
        pytest.param(
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
            id="A.2 add array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "remove", "path": "/baz"}],
            {"foo": "bar"},
            id="A.3 remove object member",
        ),
        pytest.param(
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
            id="A.4 remove array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
            id="A.5 replace a value",
        ),
        pytest.param(
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
            id="A.6 move a value",
        ),
        pytest.param(
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
            id="A.7 move an array element",
        ),
        pytest.param(
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            {"baz": "qux", "foo": ["a", 2, "c"]},
            id="A.8 test a value: success",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
            id="A.10 add a nested member object",
        ),
        pytest.param(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
            id="A.11 ignore unrecognized elements",
        ),
        pytest.param(
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": 10}],
            {"/": 9, "~1": 10},
            id="A.14 ~ escape ordering",
        ),
        pytest.param(
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
            id="A.16 add an array value",
        ),
    ],
)
def test_rfc6902_examples(doc: Any, patch: Any, expected: Any) -> None:
    assert apply_json_patch(doc, patch) == expected


def test_rfc6902_a9_test_failure_names_operation_and_path() -> None:
    patch = [{"op": "test", "path": "/baz", "value": "bar"}]
    with pytest.raises(PatchTestFailedError) as info:
        apply_json_patch({"baz": "qux"}, patch)
    assert (
        str(info.value)
        == 'the "test" operation at index 0 failed: value at /baz is not equal to "bar"'
    )
    assert info.value.index == 0
    assert info.value.path == "/baz"
    assert info.value.status_code == 422
    # The message never shows what the object holds (it may be a Secret).
    assert "qux" not in str(info.value)


def test_rfc6902_a12_add_to_nonexistent_target() -> None:
    with pytest.raises(PatchApplyError, match=r'"add" operation at index 0 failed: /baz does not'):
        apply_json_patch({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}])


def test_rfc6902_a15_strings_and_numbers_differ() -> None:
    with pytest.raises(PatchTestFailedError):
        apply_json_patch({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}])


def test_test_distinguishes_booleans_from_numbers_and_ignores_key_order() -> None:
    with pytest.raises(PatchTestFailedError):
        apply_json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": True}])
    doc = {"a": {"x": 1, "y": [1, 2.0]}}
    assert apply_json_patch(doc, [{"op": "test", "path": "/a", "value": {"y": [1.0, 2], "x": 1}}])


def test_kubernetes_style_message_for_a_label() -> None:
    doc = {"metadata": {"labels": {"a": "x"}}}
    patch = [
        {"op": "add", "path": "/metadata/labels/b", "value": "1"},
        {"op": "replace", "path": "/metadata/labels/a", "value": "z"},
        {"op": "test", "path": "/metadata/labels/a", "value": "y"},
    ]
    with pytest.raises(PatchTestFailedError) as info:
        apply_json_patch(doc, patch)
    assert str(info.value) == (
        'the "test" operation at index 2 failed: value at /metadata/labels/a is not equal to "y"'
    )
    assert doc == {"metadata": {"labels": {"a": "x"}}}, "a failed patch applies nothing"


# --- JSON pointers --------------------------------------------------------------------------

RFC6901_DOC = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
}


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("", RFC6901_DOC),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/e^f", 3),
        ("/g|h", 4),
        ("/i\\j", 5),
        ('/k"l', 6),
        ("/ ", 7),
        ("/m~0n", 8),
    ],
)
def test_rfc6901_pointers_resolve(pointer: str, value: Any) -> None:
    apply_json_patch(RFC6901_DOC, [{"op": "test", "path": pointer, "value": value}])


@pytest.mark.parametrize("tokens", [(), ("",), ("a/b", "~", "~1"), ("0", "-")])
def test_pointer_round_trip(tokens: tuple[str, ...]) -> None:
    assert parse_pointer(format_pointer(tokens)) == tokens


def test_format_pointer_escapes() -> None:
    assert format_pointer(["a/b", "m~n"]) == "/a~1b/m~0n"


@pytest.mark.parametrize("pointer", ["foo", "/a~2b", "/a~"])
def test_bad_pointer_is_a_bad_request(pointer: str) -> None:
    with pytest.raises(InvalidPatchError) as info:
        apply_json_patch({"foo": 1}, [{"op": "remove", "path": pointer}])
    assert info.value.status_code == 400
    assert "index 0" in str(info.value)
    assert pointer in str(info.value)


# --- operations ------------------------------------------------------------------------------


def test_add_replaces_existing_member_and_root() -> None:
    assert apply_json_patch({"a": 1}, [{"op": "add", "path": "/a", "value": 2}]) == {"a": 2}
    assert apply_json_patch({"a": 1}, [{"op": "add", "path": "", "value": [1]}]) == [1]
    assert apply_json_patch({"a": 1}, [{"op": "replace", "path": "", "value": None}]) is None


def test_add_at_end_index_appends() -> None:
    assert apply_json_patch([1, 2], [{"op": "add", "path": "/2", "value": 3}]) == [1, 2, 3]


def test_copy_makes_an_independent_value() -> None:
    doc = {"a": {"b": [1]}}
    patch = [
        {"op": "copy", "from": "/a", "path": "/c"},
        {"op": "add", "path": "/c/b/-", "value": 2},
    ]
    assert apply_json_patch(doc, patch) == {"a": {"b": [1]}, "c": {"b": [1, 2]}}


def test_move_to_same_place_is_a_no_op_and_into_child_fails() -> None:
    assert apply_json_patch({"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}]) == {"a": 1}
    with pytest.raises(PatchApplyError, match="into its own child"):
        apply_json_patch({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}])


def test_result_does_not_share_values_with_the_patch() -> None:
    value = {"x": [1]}
    result = apply_json_patch({}, [{"op": "add", "path": "/v", "value": value}])
    result["v"]["x"].append(2)
    assert value == {"x": [1]}


@pytest.mark.parametrize(
    ("doc", "op", "message"),
    [
        ({"a": [1, 2]}, {"op": "remove", "path": "/a/2"}, "index 2 is out of range"),
        ({"a": [1, 2]}, {"op": "add", "path": "/a/3", "value": 0}, "index 3 is out of range"),
        ({"a": [1, 2]}, {"op": "replace", "path": "/a/-", "value": 0}, "/a/- does not exist"),
        ({"a": [1, 2]}, {"op": "remove", "path": "/a/01"}, "not a valid array index"),
        ({"a": [1, 2]}, {"op": "remove", "path": "/a/x"}, "not a valid array index"),
        ({"a": 1}, {"op": "replace", "path": "/b", "value": 0}, "/b does not exist"),
        ({"a": 1}, {"op": "remove", "path": "/a/b"}, "/a is a number, not an object or array"),
        ({"a": 1}, {"op": "remove", "path": ""}, "cannot remove the document root"),
        ({"a": 1}, {"op": "copy", "from": "/b", "path": "/c"}, "/b does not exist"),
        ({"a": 1}, {"op": "test", "path": "/b", "value": 1}, "/b does not exist"),
    ],
)
def test_operations_that_do_not_fit_the_document(doc: Any, op: Any, message: str) -> None:
    before = copy.deepcopy(doc)
    with pytest.raises(PatchApplyError, match=message) as info:
        apply_json_patch(doc, [{"op": "test", "path": "", "value": doc}, op])
    assert info.value.index == 1
    assert str(info.value).startswith(f'the "{op["op"]}" operation at index 1 failed: ')
    assert doc == before


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"op": "add"}, "must be an array of operations, not an object"),
        (["add"], "the operation at index 0 must be an object, not a string"),
        ([{"path": "/a"}], 'index 0 has no "op" string member'),
        ([{"op": "frob", "path": "/a"}], 'unknown "op" "frob"'),
        ([{"op": "add", "value": 1}], 'the "add" operation at index 0 has no "path"'),
        ([{"op": "add", "path": "/a"}], 'the "add" operation at index 0 has no "value"'),
        ([{"op": "test", "path": "/a"}], 'the "test" operation at index 0 has no "value"'),
        ([{"op": "move", "path": "/a"}], 'the "move" operation at index 0 has no "from"'),
    ],
)
def test_malformed_patches_are_bad_requests(patch: Any, message: str) -> None:
    with pytest.raises(InvalidPatchError, match=message) as info:
        apply_json_patch({"a": 1}, patch)
    assert info.value.reason == "BadRequest"


def test_malformed_operation_late_in_patch_is_found_before_anything_runs() -> None:
    # Form is checked for the whole patch first: index 1 is reported, not a failure at 0.
    patch = [{"op": "remove", "path": "/missing"}, {"op": "add", "path": "nope", "value": 1}]
    with pytest.raises(InvalidPatchError) as info:
        apply_json_patch({}, patch)
    assert info.value.index == 1


def test_null_value_is_a_value() -> None:
    assert apply_json_patch({}, [{"op": "add", "path": "/a", "value": None}]) == {"a": None}


# --- property: the input is never mutated ----------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.text("ab~/", max_size=3)
_docs = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text("ab~/", max_size=2), children, max_size=4)
    ),
    max_leaves=12,
)


def _pointers(doc: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _pointers(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += _pointers(value, (*prefix, str(i)))
    return found


def _resolve(doc: Any, tokens: tuple[str, ...]) -> Any:
    for token in tokens:
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


@st.composite
def _doc_and_patch(draw: st.DrawFn) -> tuple[Any, list[dict[str, Any]]]:
    doc = draw(_docs)
    ops: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 5))):
        pointers = _pointers(doc)
        tokens = draw(st.sampled_from(pointers))
        if draw(st.booleans()):
            ops.append({"op": "remove", "path": format_pointer(tokens)})
            continue
        target = _resolve(doc, tokens)
        if isinstance(target, dict):
            child = draw(st.text("ab~/", max_size=2))
        elif isinstance(target, list):
            child = draw(st.sampled_from(["-", *map(str, range(len(target) + 2))]))
        else:
            child = draw(st.text("ab", max_size=1))  # usually fails: parent is a scalar
        ops.append({"op": "add", "path": format_pointer((*tokens, child)), "value": draw(_docs)})
    return doc, ops


def _scramble(value: Any) -> None:
    """Empty every container reachable from `value`, to expose sharing with the input."""
    if isinstance(value, dict):
        for child in value.values():
            _scramble(child)
        value.clear()
    elif isinstance(value, list):
        for child in value:
            _scramble(child)
        value.clear()


@given(_doc_and_patch())
def test_generated_add_remove_patches_never_mutate_the_input(case: tuple[Any, Any]) -> None:
    doc, patch = case
    doc_before = json.dumps(doc)
    patch_before = json.dumps(patch)
    try:
        result = apply_json_patch(doc, patch)
    except PatchError:
        pass
    else:
        _scramble(result)
    assert json.dumps(doc) == doc_before
    assert json.dumps(patch) == patch_before


@given(_docs, st.data())
def test_add_then_remove_restores_an_object(doc: Any, data: st.DataObject) -> None:
    obj = {"root": doc}
    tokens = data.draw(
        st.sampled_from([t for t in _pointers(obj) if isinstance(_resolve(obj, t), dict)])
    )
    key = "fresh-key"
    if key in _resolve(obj, tokens):
        return
    path = format_pointer((*tokens, key))
    added = apply_json_patch(obj, [{"op": "add", "path": path, "value": [1]}])
    assert apply_json_patch(added, [{"op": "remove", "path": path}]) == obj

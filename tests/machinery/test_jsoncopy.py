"""json_copy: equal, independent, and faithful even for what JSON cannot carry."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.jsoncopy import json_copy

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_a_copy_is_equal(doc: Any) -> None:
    assert json_copy(doc) == doc


def test_a_copy_is_independent() -> None:
    doc: dict[str, Any] = {"metadata": {"labels": {"a": "1"}}, "items": [{"x": 1}]}
    copied = json_copy(doc)
    copied["metadata"]["labels"]["a"] = "2"
    copied["items"][0]["x"] = 2
    assert doc == {"metadata": {"labels": {"a": "1"}}, "items": [{"x": 1}]}


def test_what_json_cannot_carry_is_deep_copied() -> None:
    doc = {"big": 2**70, 1: "non-string key"}
    copied = json_copy(doc)
    assert copied == doc
    assert copied is not doc

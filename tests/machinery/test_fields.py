"""Field selectors parse, escape and match as Kubernetes' ``fields`` package does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.fields import (
    EVERYTHING,
    Selector,
    SelectorError,
    Term,
    escape_value,
    field_set,
    parse,
    unescape_value,
)

POD_FIELDS = ["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"]
RUNNING = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "hostNetwork": False},
    "status": {"phase": "Running"},
}
PENDING = {"metadata": {"name": "web-2", "namespace": "default"}, "status": {"phase": "Pending"}}


@pytest.mark.parametrize(
    ("text", "canonical", "selected"),
    [
        ("metadata.name=web-1", "metadata.name=web-1", ["web-1"]),
        ("metadata.name==web-1", "metadata.name=web-1", ["web-1"]),
        ("status.phase!=Running", "status.phase!=Running", ["web-2"]),
        ("spec.nodeName=", "spec.nodeName=", ["web-2"]),  # unscheduled pods
        ("spec.nodeName!=", "spec.nodeName!=", ["web-1"]),
        (
            "status.phase=Running,metadata.namespace=default",
            "metadata.namespace=default,status.phase=Running",
            ["web-1"],
        ),
        (",,metadata.namespace=default,", "metadata.namespace=default", ["web-1", "web-2"]),
        ("", "", ["web-1", "web-2"]),
        ("metadata.name=web-1,metadata.name=web-2", "metadata.name=web-1,metadata.name=web-2", []),
    ],
)
def test_pod_selection(text: str, canonical: str, selected: list[str]) -> None:
    selector = parse(text, supported=POD_FIELDS)
    assert str(selector) == canonical
    assert parse(canonical) == selector
    flat = [field_set(pod, POD_FIELDS) for pod in (RUNNING, PENDING)]
    chosen = [fields["metadata.name"] for fields in flat if selector.matches(fields)]
    assert chosen == selected


def test_escaping_follows_kubernetes() -> None:
    assert escape_value("a,b=c\\d!e") == "a\\,b\\=c\\\\d!e"
    assert unescape_value("a\\,b\\=c\\\\d!e") == "a,b=c\\d!e"
    selector = parse("metadata.name=a\\,b\\=c")
    assert [(t.field, t.operator, t.value) for t in selector.terms] == [
        ("metadata.name", "=", "a,b=c")
    ]
    assert str(selector) == "metadata.name=a\\,b\\=c"
    # Only the first operator splits a term; "!" in a value needs no escape.
    assert parse("a=!b").terms == (Term("a", "=", "!b"),)
    assert parse("a!=b!c").terms == (Term("a", "!=", "b!c"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
        ("a=b,cd", "invalid selector: 'a=b,cd'; can't understand 'cd'"),
        ("a=b=c", "invalid field selector: unescaped character in value: '='"),
        ("a!==b", "invalid field selector: unescaped character in value: '='"),
        ("a=\\!", "invalid field selector: invalid escape sequence: \\!"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
        ("spec.foo=bar", "field label not supported: spec.foo"),
        ("metadata.name=x, status.phase=y", "field label not supported:  status.phase"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse(text, supported=POD_FIELDS)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_operators_and_queries() -> None:
    assert Term("a", "==", "b") == Term("a", "=", "b")
    with pytest.raises(SelectorError, match="invalid field selector operator"):
        Term("a", "<", "b")
    selector = parse("spec.nodeName=node-a,status.phase!=Failed")
    assert selector.requires_exact_match("spec.nodeName") == "node-a"
    assert selector.requires_exact_match("status.phase") is None
    assert selector.fields == {"spec.nodeName", "status.phase"}
    assert EVERYTHING.empty
    assert EVERYTHING.matches({})
    assert not selector.empty
    selector.check_supported(POD_FIELDS)
    assert repr(selector) == "Selector('spec.nodeName=node-a,status.phase!=Failed')"


def test_field_set_flattens_values_as_selectors_compare_them() -> None:
    event = {
        "type": "Warning",
        "involvedObject": {"kind": "Pod", "name": "web-1"},
        "source": {"component": "kubelet"},
        "count": 3,
        "ratio": 2.0,
        "weight": 0.5,
        "spec": {"hostNetwork": True, "list": [1]},
    }
    flat = field_set(
        event,
        {
            "type": "type",
            "involvedObject.kind": "involvedObject.kind",
            "source": "source.component",
            "count": "count",
            "ratio": "ratio",
            "weight": "weight",
            "spec.hostNetwork": "spec.hostNetwork",
            "spec.list": "spec.list",
            "reason": "reason",
            "type.deeper": "type.deeper",
        },
    )
    assert flat == {
        "type": "Warning",
        "involvedObject.kind": "Pod",
        "source": "kubelet",
        "count": "3",
        "ratio": "2",
        "weight": "0.5",
        "spec.hostNetwork": "true",
        "spec.list": "",
        "reason": "",
        "type.deeper": "",
    }
    assert parse("involvedObject.kind=Pod,type!=Normal,source=kubelet").matches(flat)
    assert field_set(RUNNING, ["spec.hostNetwork"]) == {"spec.hostNetwork": "false"}


# ---- properties ----

FIELDS = st.from_regex(r"[a-zA-Z][a-zA-Z0-9.]{0,12}", fullmatch=True)
# Values lean on the characters that need care.
VALUES = st.text(alphabet=st.sampled_from(list("ab,=\\!= é")) | st.characters(), max_size=12)
TERMS = st.builds(Term, FIELDS, st.sampled_from(["=", "==", "!="]), VALUES)


@given(st.text())
def test_escaping_round_trips(value: str) -> None:
    escaped = escape_value(value)
    assert unescape_value(escaped) == value
    # An escaped value is always one whole term: no bare "," or "=" is left in it.
    assert parse(f"f={escaped}").terms == (Term("f", "=", value),)


@given(st.lists(TERMS, max_size=5))
def test_printed_selectors_parse_back_to_themselves(terms: list[Term]) -> None:
    selector = Selector(tuple(terms))
    assert parse(str(selector)) == selector


@given(st.lists(TERMS, max_size=4), st.data())
def test_matching_agrees_with_the_terms(terms: list[Term], data: st.DataObject) -> None:
    names = [t.field for t in terms] or ["x"]
    candidates = [t.value for t in terms] + [""]
    fields = data.draw(st.dictionaries(st.sampled_from(names), st.sampled_from(candidates)))
    expected = all((fields.get(t.field, "") == t.value) is (t.operator == "=") for t in terms)
    assert Selector(tuple(terms)).matches(fields) is expected

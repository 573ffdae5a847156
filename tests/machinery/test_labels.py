"""Label selectors parse, validate, print and match as Kubernetes' ``labels`` package does.

Examples come from the Kubernetes documentation ("Labels and Selectors") and
apimachinery's selector grammar; the properties check the parser against the
printer and the matcher against a direct reading of each operator's meaning.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.labels import (
    EVERYTHING,
    NOTHING,
    Operator,
    Requirement,
    Selector,
    SelectorError,
    from_label_selector,
    from_set,
    label_key_errors,
    label_value_errors,
    parse,
    validate_labels,
)
from corral.machinery.status import Invalid

NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
PREFIX_RULE = (
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)

PROD_FRONTEND = {"environment": "production", "tier": "frontend"}
QA_BACKEND = {"environment": "qa", "tier": "backend", "partition": "customerA"}
DEV = {"environment": "dev"}


@pytest.mark.parametrize(
    ("text", "canonical", "selected"),
    [
        ("environment = production", "environment=production", [PROD_FRONTEND]),
        ("tier != frontend", "tier!=frontend", [QA_BACKEND, DEV]),
        ("environment==production,tier!=frontend", "environment==production,tier!=frontend", []),
        (
            "environment in (production, qa)",
            "environment in (production,qa)",
            [PROD_FRONTEND, QA_BACKEND],
        ),
        ("tier notin (frontend, backend)", "tier notin (backend,frontend)", [DEV]),
        ("partition", "partition", [QA_BACKEND]),
        ("!partition", "!partition", [PROD_FRONTEND, DEV]),
        ("partition,environment notin (qa)", "environment notin (qa),partition", []),
        ("", "", [PROD_FRONTEND, QA_BACKEND, DEV]),
        (" \t\r\n", "", [PROD_FRONTEND, QA_BACKEND, DEV]),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()", []),
        ("environment in (qa,qa , qa)", "environment in (qa)", [QA_BACKEND]),
        ("in in (notin),notin", "in in (notin),notin", []),
        ("environment=", "environment=", []),
        ("environment notin (,)", "environment notin ()", [PROD_FRONTEND, QA_BACKEND, DEV]),
        ("example.com/team-a", "example.com/team-a", []),
    ],
)
def test_documented_selectors(text: str, canonical: str, selected: list[dict[str, str]]) -> None:
    selector = parse(text)
    assert str(selector) == canonical
    assert parse(canonical) == selector
    chosen = [labels for labels in (PROD_FRONTEND, QA_BACKEND, DEV) if selector.matches(labels)]
    assert chosen == selected


def test_integer_comparisons() -> None:
    selector = parse("replicas>2,replicas < 10")
    assert str(selector) == "replicas>2,replicas<10"
    assert selector.matches({"replicas": "5"})
    assert selector.matches({"replicas": "0005"})
    assert not selector.matches({"replicas": "10"})
    assert not selector.matches({"replicas": "five"})
    assert not selector.matches({})
    assert not parse("n>1").matches({"n": "99999999999999999999"})  # beyond int64


def test_missing_key_satisfies_only_negative_operators() -> None:
    for text, expected in [
        ("a=x", False),
        ("a==x", False),
        ("a in (x)", False),
        ("a", False),
        ("a>1", False),
        ("a!=x", True),
        ("a notin (x)", True),
        ("!a", True),
    ]:
        assert parse(text).matches({"b": "x"}) is expected, text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, >, <"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a=b,", "found end of string, expected: identifier after ','"),
        ("a=b,,c", "found ',', expected: identifier after ','"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("(a)", "found '(', expected: !, identifier, or 'end of string'"),
        ("!", "unable to parse requirement: found end of string, expected: identifier"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a in x", "unable to parse requirement: found 'x', expected: '('"),
        ("a in (x", "unable to parse requirement: found end of string, expected: ',' or ')'"),
        ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a=(b)", "unable to parse requirement: found '(', expected: identifier"),
        ("-a", f'unable to parse requirement: key: Invalid value: "-a": name part {NAME_RULE}'),
        ("a=b@", f'unable to parse requirement: values[0]: Invalid value: "b@": {VALUE_RULE}'),
        (
            "a>b",
            'unable to parse requirement: values[0]: Invalid value: "b": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
    ],
)
def test_parse_errors_name_the_bad_token(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse(text)
    assert str(caught.value) == message


def test_validation_errors_are_carried_as_field_errors() -> None:
    with pytest.raises(SelectorError) as caught:
        parse("Example.com/a=b")
    (error,) = caught.value.errors
    assert (error.field, error.value) == ("key", "Example.com/a")
    assert error.detail == PREFIX_RULE


@pytest.mark.parametrize(
    ("key", "errors"),
    [
        ("app", []),
        ("app.kubernetes.io/name", []),
        ("A_b-c.D", []),
        ("a" * 63, []),
        ("", ["name part must be non-empty", f"name part {NAME_RULE}"]),
        ("a" * 64, ["name part must be no more than 63 bytes"]),
        ("é", [f"name part {NAME_RULE}"]),
        ("/a", ["prefix part must be non-empty"]),
        ("Example.com/a", [PREFIX_RULE]),
        ("a/", ["name part must be non-empty", f"name part {NAME_RULE}"]),
        (
            "a/b/c",
            [
                f"a valid label key {NAME_RULE} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"
            ],
        ),
        (("a" * 60 + ".") * 5 + "com/a", ["prefix part must be no more than 253 bytes"]),
    ],
)
def test_label_key_validation(key: str, errors: list[str]) -> None:
    assert label_key_errors(key) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("", []),
        ("MyValue", []),
        ("my_value.1-2", []),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 bytes"]),
        ("-a", [VALUE_RULE]),
        ("a b", [VALUE_RULE]),
        ("a\n", [VALUE_RULE]),
        ("é" * 32, ["must be no more than 63 bytes", VALUE_RULE]),
    ],
)
def test_label_value_validation(value: str, errors: list[str]) -> None:
    assert label_value_errors(value) == errors


def test_validate_labels_reports_at_the_labels_field() -> None:
    errors = validate_labels({"ok": "fine", "-bad": "x", "k": "-v", "n": 3})
    assert [str(e)[:40] for e in errors] == [
        'metadata.labels: Invalid value: "-bad": ',
        'metadata.labels: Invalid value: "-v": a ',
        "metadata.labels: Invalid value: 3: must ",
    ]
    assert validate_labels(None) == []
    assert [str(e) for e in validate_labels(["a"], "x")] == [
        'x: Invalid value: ["a"]: must be of type object'
    ]


def test_label_selector_objects() -> None:
    assert from_label_selector(None) is NOTHING
    assert from_label_selector({}) == EVERYTHING
    selector = from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["frontend", "cache"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "team", "operator": "Exists", "values": []},
            ],
        }
    )
    assert str(selector) == "app=web,!canary,env notin (dev),team,tier in (cache,frontend)"
    assert selector.matches({"app": "web", "tier": "cache", "team": "a"})
    assert not selector.matches({"app": "web", "tier": "cache", "team": "a", "canary": "1"})


def test_label_selector_object_errors_become_an_invalid_status() -> None:
    with pytest.raises(SelectorError) as caught:
        from_label_selector(
            {
                "matchLabels": {"app": "we b"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In"},
                    {"key": "x", "operator": "Exists", "values": ["a"]},
                    {"key": "x", "operator": "Near", "values": ["a"]},
                    {"key": "-x", "operator": "NotIn", "values": ["ok", 5]},
                    "nonsense",
                ],
            },
            "spec.selector",
        )
    fields = [(e.field, str(e.type)) for e in caught.value.errors]
    assert fields == [
        ("spec.selector.matchLabels", "FieldValueInvalid"),
        ("spec.selector.matchExpressions[0].values", "FieldValueRequired"),
        ("spec.selector.matchExpressions[1].values", "FieldValueForbidden"),
        ("spec.selector.matchExpressions[2].operator", "FieldValueInvalid"),
        ("spec.selector.matchExpressions[3].key", "FieldValueInvalid"),
        ("spec.selector.matchExpressions[3].values[1]", "FieldValueTypeInvalid"),
        ("spec.selector.matchExpressions[4]", "FieldValueTypeInvalid"),
    ]
    status = Invalid("Deployment", "web", caught.value.errors, group="apps").to_status()
    causes = status["details"]["causes"]
    assert causes[1] == {
        "reason": "FieldValueRequired",
        "message": "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        "field": "spec.selector.matchExpressions[0].values",
    }
    assert causes[2]["message"] == (
        "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
    )
    assert causes[3]["message"] == 'Invalid value: "Near": not a valid selector operator'
    assert status["message"].startswith('Deployment.apps "web" is invalid: [spec.selector.')


def test_requirements_validate_themselves() -> None:
    with pytest.raises(SelectorError, match="values set can't be empty"):
        Requirement("a", Operator.IN, ())
    with pytest.raises(SelectorError, match="exact-match compatibility requires one single"):
        Requirement("a", Operator.EQUALS, ("x", "y"))
    with pytest.raises(SelectorError, match="values set must be empty for exists"):
        Requirement("a", Operator.EXISTS, ("x",))
    with pytest.raises(SelectorError, match="exactly one value is required"):
        Requirement("a", Operator.GREATER_THAN, ())
    with pytest.raises(SelectorError, match='operator: Unsupported value: "~": supported values'):
        Requirement("a", "~", ())  # type: ignore[arg-type]
    assert Requirement("a", Operator.EQUALS, "x").values == ("x",)  # type: ignore[arg-type]
    assert Requirement("a", Operator.NOT_IN, ("b", "a", "b")).values == ("a", "b")


def test_set_selectors_and_exact_matches() -> None:
    selector = from_set({"app": "web", "tier": "db"})
    assert str(selector) == "app=web,tier=db"
    assert selector.requires_exact_match("app") == "web"
    assert selector.requires_exact_match("zone") is None
    assert parse("a in (x),b==y,c in (p,q),d!=z").equality_terms() == (("a", "x"), ("b", "y"))
    assert parse("a!=x,a=y").requires_exact_match("a") == "y"
    with pytest.raises(SelectorError):
        from_set({"app": "we b"})


def test_everything_and_nothing() -> None:
    assert EVERYTHING.empty
    assert EVERYTHING.matches({})
    assert parse("") == EVERYTHING
    assert not NOTHING.empty
    assert not NOTHING.matches({})
    assert not NOTHING.add(Requirement("a", Operator.EXISTS)).matches({"a": "b"})
    assert str(NOTHING) == ""  # as in Kubernetes: never send NOTHING as a query string
    assert repr(NOTHING) == "Selector(nothing=True)"
    assert EVERYTHING.add(Requirement("a", Operator.EXISTS)) == parse("a")


# ---- properties ----

NAMES = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?", fullmatch=True)
PREFIXES = st.from_regex(
    r"[a-z0-9]([-a-z0-9]{0,4}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,4}[a-z0-9])?){0,2}",
    fullmatch=True,
)
KEYS = st.one_of(
    st.sampled_from(["app", "in", "notin", "tier"]),
    NAMES,
    st.builds(lambda p, n: f"{p}/{n}", PREFIXES, NAMES),
)
NUMBERS = st.integers(0, 10**6).map(str)
VALUES = st.one_of(st.sampled_from(["", "in", "notin", "web"]), NAMES, NUMBERS)


@st.composite
def requirements(
    draw: st.DrawFn, keys: st.SearchStrategy[str], values: st.SearchStrategy[str]
) -> Requirement:
    key = draw(keys)
    op = draw(st.sampled_from(list(Operator)))
    if op in (Operator.IN, Operator.NOT_IN):
        return Requirement(key, op, tuple(draw(st.lists(values, min_size=1, max_size=4))))
    if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        return Requirement(key, op)
    if op in (Operator.GREATER_THAN, Operator.LESS_THAN):
        return Requirement(key, op, (draw(NUMBERS),))
    return Requirement(key, op, (draw(values),))


SELECTORS = st.lists(requirements(KEYS, VALUES), max_size=5).map(lambda rs: Selector(tuple(rs)))


@given(SELECTORS)
def test_printed_selectors_parse_back_to_themselves(selector: Selector) -> None:
    assert parse(str(selector)) == selector


SPACE = st.sampled_from(["", " ", "  ", "\t", "\n ", "\r\n"])


@st.composite
def spelled(draw: st.DrawFn, requirement: Requirement) -> str:
    """The requirement written out with arbitrary spacing and value order."""

    def gap() -> str:
        return draw(SPACE)

    key, op, values = requirement.key, requirement.operator, list(requirement.values)
    if op is Operator.EXISTS:
        return gap() + key + gap()
    if op is Operator.DOES_NOT_EXIST:
        return gap() + "!" + gap() + key + gap()
    if op in (Operator.IN, Operator.NOT_IN):
        shuffled = draw(st.permutations(values))
        repeated = shuffled + draw(st.lists(st.sampled_from(values), max_size=2))
        items = ",".join(gap() + v + gap() for v in repeated)
        # "in" and "notin" are words: they need a space (or a bracket) around them.
        return f"{gap()}{key} {gap()}{op.value}{gap()}({items}){gap()}"
    symbol = {Operator.GREATER_THAN: ">", Operator.LESS_THAN: "<"}.get(op, op.value)
    return gap() + key + gap() + symbol + gap() + values[0] + gap()


@given(st.data(), SELECTORS)
def test_hand_written_selectors_parse(data: st.DataObject, selector: Selector) -> None:
    text = ",".join(data.draw(spelled(r)) for r in selector.requirements)
    assert parse(text) == selector


def reference_match(requirement: Requirement, labels: dict[str, str]) -> bool:
    """What each operator means, read directly from the Kubernetes documentation."""
    present = requirement.key in labels
    value = labels.get(requirement.key, "")
    op = requirement.operator
    if op is Operator.EXISTS:
        return present
    if op is Operator.DOES_NOT_EXIST:
        return not present
    if op in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
        return present and value in requirement.values
    if op in (Operator.NOT_IN, Operator.NOT_EQUALS):
        return not present or value not in requirement.values
    if not present or not re.fullmatch("[0-9]+", value):
        return False
    bound = int(requirement.values[0])
    return int(value) > bound if op is Operator.GREATER_THAN else int(value) < bound


@given(st.data())
def test_matching_agrees_with_the_reference(data: st.DataObject) -> None:
    # Small pools of keys and values, so that selectors and label sets collide often.
    keys = st.sampled_from(data.draw(st.lists(KEYS, min_size=1, max_size=3, unique=True)))
    values = st.sampled_from(data.draw(st.lists(VALUES, min_size=1, max_size=3, unique=True)))
    selector = Selector(tuple(data.draw(st.lists(requirements(keys, values), max_size=4))))
    labels = data.draw(st.dictionaries(keys, st.one_of(values, NUMBERS), max_size=3))
    expected = all(reference_match(r, labels) for r in selector.requirements)
    assert selector.matches(labels) is expected


@given(SELECTORS)
def test_exact_matches_are_really_required(selector: Selector) -> None:
    for key, value in selector.equality_terms():
        assert selector.requires_exact_match(key) is not None
        assert not selector.matches({key: value + "x"} if value else {})


@given(st.text(max_size=20))
def test_parse_never_fails_with_anything_but_selector_error(text: str) -> None:
    try:
        selector = parse(text)
    except SelectorError:
        return
    assert parse(str(selector)) == selector


@pytest.mark.parametrize("operator", [["In"], {"op": "In"}, None, 3])
def test_a_non_string_operator_is_a_field_error_not_a_crash(operator: object) -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": operator, "values": ["a"]}]}
    with pytest.raises(SelectorError) as caught:
        from_label_selector(selector, "spec.selector")
    assert "spec.selector.matchExpressions[0].operator" in str(caught.value)

"""Custom resource tables from additionalPrinterColumns, and the JSONPath subset."""

from __future__ import annotations

from typing import Any

import pytest

from corral.machinery.printers import JSONPathError, crd_table
from corral.machinery.printers.crd import go_float
from corral.machinery.printers.descriptions import CREATION_TIMESTAMP
from corral.machinery.printers.jsonpath import compile_path, find

from .helpers import NOW, ago, meta

COLUMNS: list[dict[str, Any]] = [
    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        "description": "Whether the widget is ready",
    },
    {"name": "Size", "type": "number", "jsonPath": ".spec.size", "priority": 1},
    {"name": "Paused", "type": "boolean", "jsonPath": ".spec.paused"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": meta("w1"),
    "spec": {"replicas": 3, "size": 2, "paused": False},
    "status": {
        "conditions": [
            {"type": "Progressing", "status": "True"},
            {"type": "Ready", "status": "False"},
        ]
    },
}


def test_columns_and_cells() -> None:
    table = crd_table(COLUMNS, [WIDGET], now=NOW)
    assert table["columnDefinitions"] == [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": table["columnDefinitions"][0]["description"],
            "priority": 0,
        },
        {
            "name": "Replicas",
            "type": "integer",
            "format": "",
            "description": "Custom resource definition column (in JSONPath format): .spec.replicas",
            "priority": 0,
        },
        {
            "name": "Ready",
            "type": "string",
            "format": "",
            "description": "Whether the widget is ready",
            "priority": 0,
        },
        {
            "name": "Size",
            "type": "number",
            "format": "",
            "description": "Custom resource definition column (in JSONPath format): .spec.size",
            "priority": 1,
        },
        {
            "name": "Paused",
            "type": "boolean",
            "format": "",
            "description": "Custom resource definition column (in JSONPath format): .spec.paused",
            "priority": 0,
        },
        {
            "name": "Age",
            "type": "date",
            "format": "",
            "description": (
                "Custom resource definition column (in JSONPath format): "
                ".metadata.creationTimestamp"
            ),
            "priority": 0,
        },
    ]
    assert table["rows"][0]["cells"] == ["w1", 3, "False", 2.0, False, "5m"]
    narrow = crd_table(COLUMNS, [WIDGET], now=NOW, wide_columns=False)
    assert narrow["rows"][0]["cells"] == ["w1", 3, "False", False, "5m"]


def test_missing_values_are_null() -> None:
    bare = {"metadata": {"name": "w2"}, "spec": {}}
    assert crd_table(COLUMNS, [bare], now=NOW)["rows"][0]["cells"] == [
        "w2",
        None,
        None,
        None,
        None,
        None,
    ]


def test_values_of_the_wrong_type() -> None:
    odd = {
        "metadata": {"name": "w3", "creationTimestamp": "yesterday"},
        "spec": {"replicas": "three", "size": True, "paused": "no"},
        "status": {"conditions": [{"type": "Ready", "status": True}]},
    }
    assert crd_table(COLUMNS, [odd], now=NOW)["rows"][0]["cells"] == [
        "w3",
        None,
        "true",
        None,
        None,
        "<invalid>",
    ]


def test_string_columns_print_like_go() -> None:
    columns = [
        {"name": "Spec", "type": "string", "jsonPath": ".spec"},
        {"name": "Count", "type": "string", "jsonPath": ".spec.count"},
        {"name": "Ratio", "type": "string", "jsonPath": ".spec.ratio"},
        {"name": "Big", "type": "integer", "jsonPath": ".spec.big"},
    ]
    obj = {"metadata": {"name": "x"}, "spec": {"count": 7, "ratio": 1e6, "big": 2.9, "b": "<a&b>"}}
    cells = crd_table(columns, [obj], now=NOW)["rows"][0]["cells"]
    assert cells == [
        "x",
        '{"b":"\\u003ca\\u0026b\\u003e","big":2.9,"count":7,"ratio":1000000.0}',
        "7",
        "1e+06",
        2,
    ]


def test_default_age_column_without_printer_columns() -> None:
    table = crd_table([], [WIDGET], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["columnDefinitions"][1]["type"] == "date"
    assert table["columnDefinitions"][1]["description"] == CREATION_TIMESTAMP
    assert table["rows"][0]["cells"] == ["w1", "5m"]


def test_date_column_on_a_status_time() -> None:
    columns = [{"name": "Last Sync", "type": "date", "jsonPath": ".status.lastSync"}]
    obj = {"metadata": {"name": "s"}, "status": {"lastSync": ago(hours=4, minutes=5)}}
    assert crd_table(columns, [obj], now=NOW)["rows"][0]["cells"] == ["s", "4h5m"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        ("$.spec.replicas", [3]),
        (".status.conditions[?(@.type=='Ready')].status", ["False"]),
        ('.status.conditions[?(@.type!="Ready")].type', ["Progressing"]),
        (".status.conditions[*].type", ["Progressing", "Ready"]),
        (".status.conditions[0].type", ["Progressing"]),
        (".status.conditions[-1].type", ["Ready"]),
        (".status.conditions[5].type", []),
        (".metadata.labels.app\\.kubernetes\\.io/name", ["widget"]),
        (".metadata.labels['app.kubernetes.io/name']", ["widget"]),
        (".spec.items[?(@.weight>=2)].id", ["b", "c"]),
        (".spec.items[?(@.weight<2)].id", ["a"]),
        (".spec.items[?(@.flag)].id", ["c"]),
        (".spec.items[?(@.flag==true)].id", ["c"]),
        ("..id", ["a", "b", "c"]),
        (
            ".spec.*",
            [
                [
                    {"id": "a", "weight": 1},
                    {"id": "b", "weight": 2.5},
                    {"flag": True, "id": "c", "weight": 3},
                ],
                3,
            ],
        ),
        (".spec.replicas.nothing", []),
        (".spec.items.id", []),
    ],
)
def test_jsonpath(path: str, expected: list[Any]) -> None:
    obj = {
        "metadata": {"labels": {"app.kubernetes.io/name": "widget"}},
        "spec": {
            "replicas": 3,
            "items": [
                {"id": "a", "weight": 1},
                {"id": "b", "weight": 2.5},
                {"id": "c", "weight": 3, "flag": True},
            ],
        },
        "status": WIDGET["status"],
    }
    assert find(compile_path(path), obj) == expected


@pytest.mark.parametrize(
    "path", ["spec", ".spec[", ".spec[1:2]", ".spec[?(@.a=~b)]", ".spec[?(x)]"]
)
def test_unsupported_jsonpath(path: str) -> None:
    with pytest.raises(JSONPathError):
        compile_path(path)


def test_unsupported_column_path_fails_the_table() -> None:
    with pytest.raises(JSONPathError):
        crd_table([{"name": "X", "type": "string", "jsonPath": ".a[1:"}], [], now=NOW)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, "1.5"),
        (3.0, "3"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.25, "-2.25"),
        (0.0, "0"),
    ],
)
def test_go_float(value: float, expected: str) -> None:
    assert go_float(value) == expected

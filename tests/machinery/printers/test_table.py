"""The Table envelope: includeObject, wide columns, list metadata, empty tables."""

from __future__ import annotations

from typing import Any

import pytest

from corral.machinery.printers import TableError, to_table

from .helpers import NOW, meta

CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {**meta("settings", uid="2c4e", resourceVersion="41", labels={"app": "web"})},
    "data": {"mode": "fast"},
}


def test_default_includes_partial_object_metadata() -> None:
    table = to_table("", "configmaps", [CONFIGMAP], now=NOW, metadata={"resourceVersion": "42"})
    assert table == {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "42"},
        "columnDefinitions": table["columnDefinitions"],
        "rows": [
            {
                "cells": ["settings", 1, "5m"],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": CONFIGMAP["metadata"],
                },
            }
        ],
    }
    assert table["columnDefinitions"][0] == {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": table["columnDefinitions"][0]["description"],
        "priority": 0,
    }
    assert table["columnDefinitions"][0]["description"].startswith("Name must be unique")


def test_include_object_modes() -> None:
    full = to_table("", "configmaps", [CONFIGMAP], now=NOW, include_object="Object")
    assert full["rows"][0]["object"] == CONFIGMAP
    none = to_table("", "configmaps", [CONFIGMAP], now=NOW, include_object="None")
    assert "object" not in none["rows"][0]
    empty = to_table("", "configmaps", [CONFIGMAP], now=NOW, include_object="")
    assert empty["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    with pytest.raises(TableError, match="includeObject"):
        to_table("", "configmaps", [CONFIGMAP], now=NOW, include_object="Everything")
    with pytest.raises(TableError):
        to_table("", "configmaps", [], now=NOW, include_object="everything")


def test_list_metadata_is_carried_over() -> None:
    listed = to_table(
        "",
        "configmaps",
        [CONFIGMAP],
        now=NOW,
        metadata={
            "resourceVersion": "90",
            "continue": "eyJ2Ijo",
            "remainingItemCount": 7,
            "selfLink": "x",
        },
    )
    assert listed["metadata"] == {
        "resourceVersion": "90",
        "continue": "eyJ2Ijo",
        "remainingItemCount": 7,
    }
    assert to_table("", "configmaps", [], now=NOW)["metadata"] == {}


def test_empty_table_keeps_its_columns() -> None:
    table = to_table("apps", "deployments", [], now=NOW)
    assert table["rows"] == []
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    narrow = to_table("apps", "deployments", [], now=NOW, wide_columns=False)
    assert [c["name"] for c in narrow["columnDefinitions"]] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
    ]


def test_every_column_definition_has_all_fields() -> None:
    from corral.machinery.printers.table import PRINTERS

    for printer in PRINTERS.values():
        for column in printer.columns:
            definition = column.to_dict()
            assert set(definition) == {"name", "type", "format", "description", "priority"}
            assert definition["description"], column.name
            assert definition["type"] in ("string", "integer", "boolean", "date")


def test_rows_keep_object_order() -> None:
    second = {**CONFIGMAP, "metadata": {**CONFIGMAP["metadata"], "name": "b"}}
    table = to_table("", "configmaps", [CONFIGMAP, second], now=NOW, wide_columns=False)
    assert [row["cells"][0] for row in table["rows"]] == ["settings", "b"]


def test_v1beta1_tables_and_core_group_alias() -> None:
    table = to_table("core", "configmaps", [CONFIGMAP], now=NOW, version="v1beta1")
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]

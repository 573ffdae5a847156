"""Condition helpers: transitions, order, observedGeneration, removal, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from corral.controller import (
    ConditionError,
    get_condition,
    is_false,
    is_true,
    remove_condition,
    set_condition,
)

T0 = datetime(2026, 11, 24, 1, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def test_new_condition_is_appended_with_its_transition_time() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "x"}}
    assert set_condition(obj, "Ready", "False", "Starting", "booting", now=T0)
    assert obj["status"]["conditions"] == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "Starting",
            "message": "booting",
            "lastTransitionTime": "2026-11-24T01:00:00Z",
        }
    ]
    assert is_false(obj, "Ready")
    assert not is_true(obj, "Ready")


def test_transition_time_changes_only_with_status() -> None:
    obj: dict[str, Any] = {}
    set_condition(obj, "Ready", False, "Starting", now=T0)
    assert set_condition(obj, "Ready", False, "StillStarting", "more", now=T1)
    ready = get_condition(obj, "Ready")
    assert ready is not None
    assert ready["lastTransitionTime"] == "2026-11-24T01:00:00Z"
    assert ready["reason"] == "StillStarting"
    assert set_condition(obj, "Ready", True, "Up", now=T1)
    assert ready["lastTransitionTime"] == "2026-11-24T01:05:00Z"
    assert is_true(obj, "Ready")


def test_setting_the_same_condition_reports_no_change() -> None:
    obj: dict[str, Any] = {}
    assert set_condition(obj, "Ready", "True", "Up", "ok", observed_generation=3, now=T0)
    before = [dict(c) for c in obj["status"]["conditions"]]
    assert not set_condition(obj, "Ready", "True", "Up", "ok", observed_generation=3, now=T1)
    assert obj["status"]["conditions"] == before


def test_observed_generation_is_set_updated_and_removed() -> None:
    obj: dict[str, Any] = {}
    set_condition(obj, "Ready", "True", "Up", observed_generation=1, now=T0)
    assert get_condition(obj, "Ready") == {
        "type": "Ready",
        "status": "True",
        "observedGeneration": 1,
        "reason": "Up",
        "message": "",
        "lastTransitionTime": "2026-11-24T01:00:00Z",
    }
    assert set_condition(obj, "Ready", "True", "Up", observed_generation=2, now=T1)
    ready = get_condition(obj, "Ready")
    assert ready is not None
    assert ready["observedGeneration"] == 2
    assert ready["lastTransitionTime"] == "2026-11-24T01:00:00Z"
    assert set_condition(obj, "Ready", "True", "Up", now=T1)
    assert "observedGeneration" not in ready


def test_list_order_is_kept() -> None:
    obj: dict[str, Any] = {}
    for kind in ("A", "B", "C"):
        set_condition(obj, kind, "Unknown", "Init", now=T0)
    set_condition(obj, "B", "True", "Done", now=T1)
    assert [c["type"] for c in obj["status"]["conditions"]] == ["A", "B", "C"]
    assert remove_condition(obj, "A")
    assert not remove_condition(obj, "A")
    assert [c["type"] for c in obj["status"]["conditions"]] == ["B", "C"]


def test_missing_status_and_conditions_are_fine_to_read() -> None:
    assert get_condition({}, "Ready") is None
    assert not is_true({"status": {}}, "Ready")
    assert not remove_condition({}, "Ready")


def test_default_time_is_now() -> None:
    obj: dict[str, Any] = {}
    set_condition(obj, "Ready", True, "Up")
    stamp = obj["status"]["conditions"][0]["lastTransitionTime"]
    parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - parsed) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("obj", "args"),
    [
        ({}, ("Ready", "yes", "Up")),
        ({}, ("", "True", "Up")),
        ({}, ("Ready", "True", "")),
        ({"status": []}, ("Ready", "True", "Up")),
        ({"status": {"conditions": {}}}, ("Ready", "True", "Up")),
    ],
)
def test_bad_input_is_a_condition_error(obj: dict[str, Any], args: tuple[str, str, str]) -> None:
    with pytest.raises(ConditionError):
        set_condition(obj, *args, now=T0)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ConditionError, match="timezone"):
        set_condition({}, "Ready", "True", "Up", now=datetime(2026, 1, 1))

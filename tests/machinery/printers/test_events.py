"""Event rows for core/v1 and events.k8s.io/v1 objects."""

from __future__ import annotations

from typing import Any

from .helpers import ago, cells, headers, meta


def core_event(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta("web-0.17c1"),
        "involvedObject": {
            "kind": "Pod",
            "name": "web-0",
            "namespace": "default",
            "fieldPath": "spec.containers{web}",
        },
        "reason": "Pulled",
        "message": '  Successfully pulled image "nginx:1.27"\n',
        "source": {"component": "kubelet", "host": "node-1"},
        "type": "Normal",
        **fields,
    }


def test_columns() -> None:
    assert headers("", "events") == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert headers("", "events", wide=True) == [
        "LAST SEEN",
        "TYPE",
        "REASON",
        "OBJECT",
        "SUBOBJECT",
        "SOURCE",
        "MESSAGE",
        "FIRST SEEN",
        "COUNT",
        "NAME",
    ]


def test_core_event() -> None:
    event = core_event(firstTimestamp=ago(minutes=10), lastTimestamp=ago(minutes=2), count=4)
    assert cells("", "events", event) == [
        "2m",
        "Normal",
        "Pulled",
        "pod/web-0",
        'Successfully pulled image "nginx:1.27"',
    ]
    assert cells("", "events", event, wide=True) == [
        "2m",
        "Normal",
        "Pulled",
        "pod/web-0",
        "spec.containers{web}",
        "kubelet, node-1",
        'Successfully pulled image "nginx:1.27"',
        "10m",
        4,
        "web-0.17c1",
    ]


def test_singleton_event_with_event_time_only() -> None:
    event = core_event(
        eventTime="2024-05-01T11:59:30.000000Z", reportingController="kubelet", reportingInstance=""
    )
    del event["source"]
    wide = cells("", "events", event, wide=True)
    assert wide[0] == "30s"
    assert wide[5] == "kubelet"
    assert wide[7:9] == ["30s", 1]


def test_series_and_missing_times() -> None:
    event = core_event(
        firstTimestamp=ago(hours=3),
        series={"count": 12, "lastObservedTime": "2024-05-01T11:59:00.000000Z"},
    )
    wide = cells("", "events", event, wide=True)
    assert wide[0] == "60s"
    assert wide[8] == 12
    assert cells("", "events", core_event())[0] == "<unknown>"


def test_event_without_object_name() -> None:
    event = core_event(involvedObject={"kind": "Node"}, lastTimestamp=ago(seconds=5))
    assert cells("", "events", event)[3] == "node"


def test_events_k8s_io_event() -> None:
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": meta("web-0.17c2"),
        "eventTime": "2024-05-01T11:55:00.000000Z",
        "regarding": {"kind": "Deployment", "name": "web"},
        "note": "Scaled up replica set web-7d4b9 to 3",
        "reason": "ScalingReplicaSet",
        "reportingController": "deployment-controller",
        "type": "Normal",
        "deprecatedCount": 2,
    }
    assert cells("events.k8s.io", "events", event, wide=True) == [
        "5m",
        "Normal",
        "ScalingReplicaSet",
        "deployment/web",
        "",
        "deployment-controller",
        "Scaled up replica set web-7d4b9 to 3",
        "5m",
        2,
        "web-0.17c2",
    ]

"""Protobuf bodies become the JSON Kubernetes' own encoding gives for the same object."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.machinery.protobuf import Tables, builtin_tables, decode_delete_options, decode_object
from corral.machinery.protobuf.wellknown import go_duration
from corral.machinery.status import BadRequest, UnsupportedMediaType

from .encoder import blob, envelope, fixed64, msg, tag, text, uint

ZERO_TIME = -62135596800


def meta(name: str, namespace: str = "", *extra: bytes) -> bytes:
    """ObjectMeta as client-go writes it: every non-pointer field, zero or not."""
    return msg(
        1,
        text(1, name),
        text(2, ""),
        text(3, namespace),
        text(4, ""),
        text(5, ""),
        text(6, ""),
        uint(7, 0),
        msg(8),  # creationTimestamp: the zero Time is an empty message
        *extra,
    )


def test_configmap_keeps_map_values_and_base64s_binary_data() -> None:
    raw = (
        meta("settings", "shop")
        + msg(2, text(1, "color"), text(2, "blue"))
        + msg(2, text(1, "empty"), text(2, ""))
        + msg(3, text(1, "blob"), blob(2, b"\x00\xff"))
    )
    obj = decode_object(envelope(raw, "v1", "ConfigMap"))
    assert obj == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {"color": "blue", "empty": ""},
        "binaryData": {"blob": base64.b64encode(b"\x00\xff").decode()},
    }
    assert list(obj) == ["apiVersion", "kind", "metadata", "data", "binaryData"]


def test_object_meta_has_no_protobuf_artifacts() -> None:
    obj = decode_object(envelope(meta("x"), "v1", "Namespace"))
    assert obj["metadata"] == {"name": "x"}


def test_secret_data_is_base64_of_the_bytes() -> None:
    raw = meta("s", "default") + msg(2, text(1, "pw"), blob(2, b"hunter2")) + text(3, "Opaque")
    obj = decode_object(envelope(raw, "v1", "Secret"))
    assert base64.b64decode(obj["data"]["pw"]) == b"hunter2"
    assert obj["type"] == "Opaque"


def _deployment(replicas: int) -> bytes:
    container = msg(
        2,
        text(1, "web"),
        text(2, "nginx"),
        msg(8),  # resources: {}
        text(13, ""),
        uint(16, 0),  # stdin: false
        msg(10, msg(1, msg(2, text(1, "/healthz"))), uint(4, 0), uint(2, 5)),
    )
    template = msg(3, meta("", "", msg(11, text(1, "app"), text(2, "web"))), msg(2, container))
    spec = msg(
        2,
        uint(1, replicas),
        msg(2, msg(1, text(1, "app"), text(2, "web"))),
        template,
        msg(4),  # strategy: {}
        uint(5, 0),  # minReadySeconds: omitempty
        uint(7, 0),  # paused: omitempty
    )
    return envelope(meta("web", "shop") + spec + msg(3, uint(2, 0)), "apps/v1", "Deployment")


def test_deployment_keeps_pointer_zeros_and_drops_omitempty_zeros() -> None:
    obj = decode_object(_deployment(0))
    spec = obj["spec"]
    assert spec["replicas"] == 0  # *int32: an explicit 0 is meaningful
    assert "minReadySeconds" not in spec
    assert "paused" not in spec
    assert spec["strategy"] == {}
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["template"]["metadata"] == {"labels": {"app": "web"}}
    container = spec["template"]["spec"]["containers"][0]
    assert container == {
        "name": "web",
        "image": "nginx",
        "resources": {},
        "livenessProbe": {"httpGet": {"path": "/healthz"}, "initialDelaySeconds": 5},
    }
    assert obj["status"] == {}


def test_inlined_structs_are_merged_into_their_parent() -> None:
    volume = msg(1, text(1, "cfg"), msg(2, msg(19, msg(1, text(1, "settings")))))
    env = msg(7, text(1, "COLOR"), msg(3, msg(3, msg(1, text(1, "settings")), text(2, "color"))))
    pod_spec = msg(2, volume, msg(2, text(1, "c"), env))
    obj = decode_object(envelope(meta("p", "default") + pod_spec, "v1", "Pod"))
    assert obj["spec"]["volumes"] == [{"name": "cfg", "configMap": {"name": "settings"}}]
    env_var = obj["spec"]["containers"][0]["env"][0]
    assert env_var == {
        "name": "COLOR",
        "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}},
    }


def test_int_or_string_and_packed_repeated_ints() -> None:
    ports = msg(1, text(1, "http"), uint(3, 80), msg(4, uint(1, 1), text(3, "web")))
    ports += msg(1, uint(3, 81), msg(4, uint(1, 0), uint(2, 8081)))
    obj = decode_object(envelope(meta("svc", "default") + msg(2, ports), "v1", "Service"))
    assert obj["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "web"},
        {"port": 81, "targetPort": 8081},
    ]
    groups = blob(4, b"".join(bytes([n]) for n in (1, 2, 3)))
    pod = meta("p", "default") + msg(2, msg(14, groups, uint(4, 4)))
    assert decode_object(envelope(pod, "v1", "Pod"))["spec"]["securityContext"] == {
        "supplementalGroups": [1, 2, 3, 4]
    }


def test_times_micro_times_and_durations() -> None:
    stamp = msg(8, uint(1, 1704164645), uint(2, 123456789))
    obj = decode_object(envelope(msg(1, text(1, "x"), stamp), "v1", "Namespace"))
    assert obj["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"
    early = msg(8, uint(1, -60_000_000_000))
    obj = decode_object(envelope(msg(1, text(1, "x"), early), "v1", "Namespace"))
    assert obj["metadata"]["creationTimestamp"] == "0068-09-03T13:20:00Z"
    zero = msg(8, uint(1, ZERO_TIME))
    obj = decode_object(envelope(msg(1, text(1, "x"), zero), "v1", "Namespace"))
    assert "creationTimestamp" not in obj["metadata"]
    event = meta("e", "default") + msg(2, uint(1, 1704164645), uint(2, 123456789))
    obj = decode_object(envelope(event, "events.k8s.io/v1", "Event"))
    assert obj["eventTime"] == "2024-01-02T03:04:05.123456Z"
    assert [go_duration(n) for n in (0, 1500, 1_500_000, 3_723_500_000_000, -60_000_000_000)] == [
        "0s",
        "1.5µs",
        "1.5ms",
        "1h2m3.5s",
        "-1m0s",
    ]


def test_list_wrappers_in_maps_are_plain_lists() -> None:
    extra = msg(5, text(1, "scopes"), msg(2, text(1, "a"), text(1, "b")))
    raw = meta("r") + msg(2, extra, text(3, "jane"))
    obj = decode_object(envelope(raw, "authorization.k8s.io/v1", "SubjectAccessReview"))
    assert obj["spec"] == {"extra": {"scopes": ["a", "b"]}, "user": "jane"}


def test_embedded_raw_json_is_parsed() -> None:
    raw = meta("rev", "default") + msg(2, blob(1, b'{"spec": {"a": 1}}')) + uint(3, 2)
    obj = decode_object(envelope(raw, "apps/v1", "ControllerRevision"))
    assert obj["data"] == {"spec": {"a": 1}}
    assert obj["revision"] == 2


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = uint(90, 7) + fixed64(91, 1) + blob(92, b"zz") + tag(93, 5) + b"\0\0\0\0"
    obj = decode_object(envelope(meta("x") + unknown, "v1", "Namespace"))
    assert obj["metadata"] == {"name": "x"}


def test_kind_comes_from_the_envelope_else_from_the_request() -> None:
    assert decode_object(envelope(meta("x")), "v1", "Namespace")["kind"] == "Namespace"
    obj = decode_object(envelope(meta("x"), "v1", "ConfigMap"), "v1", "Namespace")
    assert (obj["apiVersion"], obj["kind"]) == ("v1", "ConfigMap")


def test_delete_options() -> None:
    raw = uint(1, 0) + msg(2, text(1, "abc")) + text(4, "Foreground") + text(5, "All")
    assert decode_delete_options(envelope(raw, "meta.k8s.io/v1", "DeleteOptions")) == {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "abc"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }


def test_a_kind_without_a_protobuf_message_is_unsupported_media_type() -> None:
    with pytest.raises(UnsupportedMediaType, match="application/json, application/yaml"):
        decode_object(envelope(meta("x"), "example.com/v1", "Widget"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind": "Namespace"}', "does not start with the Kubernetes magic"),
        (b"k8s\x00\x12\x05ab", "body of the request is malformed: field 2: length 5"),
        (envelope(msg(1, b"\x0a\x09abc")), "v1, Kind=Namespace is malformed: field 1: length 9"),
        (envelope(msg(1, uint(1, 5))), r"wire type 0 where string .* \(at metadata.name\)"),
        (envelope(msg(1, msg(8, uint(1, 1 << 62)))), "time out of range"),
        (b"k8s\x00" + msg(3, text(1, "gzip")) + blob(2, b""), "unsupported protobuf content"),
    ],
)
def test_malformed_bodies_are_bad_requests_naming_the_problem(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        decode_object(body, "v1", "Namespace")


@given(st.binary(max_size=300))
def test_garbage_after_the_magic_is_a_bad_request_or_an_object(data: bytes) -> None:
    try:
        obj: Any = decode_object(b"k8s\x00" + blob(2, data), "apps/v1", "Deployment")
    except BadRequest:
        return
    assert obj["kind"] == "Deployment"


def test_nesting_is_bounded() -> None:
    data = builtin_tables()
    loop = Tables(
        {
            "groups": {"v1": "test"},
            "messages": {"test.Loop": [[1, "next", "test.Loop", "", ""]]},
        }
    )
    assert data.message("k8s.io.api.core.v1.Pod") is not None
    body = b""
    for _ in range(150):
        body = msg(1, body)
    with pytest.raises(BadRequest, match="nested deeper than 100"):
        decode_object(envelope(body, "v1", "Loop"), tables=loop)

"""Pod specs, Pods, Namespaces, ConfigMaps and Secrets: the rules users hit."""

from __future__ import annotations

import base64
import copy
from typing import Any

from corral.machinery.validation import strategy_for


def create(group: str, resource: str, obj: dict[str, Any]) -> list[str]:
    strategy = strategy_for(group, resource)
    strategy.default(obj)
    return [str(e) for e in strategy.validate_create(obj)]


def update(group: str, resource: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    strategy = strategy_for(group, resource)
    strategy.default(new)
    return [str(e) for e in strategy.validate_update(new, old)]


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": list(containers), **spec},
    }


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_valid_pod_passes() -> None:
    assert create("", "pods", pod({"name": "app", "image": "nginx"})) == []


def test_a_pod_needs_a_container() -> None:
    assert create("", "pods", pod()) == ["spec.containers: Required value"]


def test_container_rules() -> None:
    errors = create(
        "",
        "pods",
        pod(
            {"name": "App", "image": "nginx"},
            {"name": "app2", "image": ""},
            {"name": "app2", "image": " nginx"},
            {"image": "x", "imagePullPolicy": "Sometimes"},
        ),
    )
    assert errors[0].startswith('spec.containers[0].name: Invalid value: "App": a lowercase RFC')
    assert errors[1:] == [
        "spec.containers[1].image: Required value",
        'spec.containers[2].name: Duplicate value: "app2"',
        'spec.containers[2].image: Invalid value: " nginx": must not have leading or trailing '
        "whitespace",
        "spec.containers[3].name: Required value",
        'spec.containers[3].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "IfNotPresent", "Never"',
    ]


def test_init_and_regular_container_names_share_one_space() -> None:
    errors = create(
        "",
        "pods",
        pod({"name": "a", "image": "x"}, initContainers=[{"name": "a", "image": "x"}]),
    )
    assert errors == ['spec.containers[0].name: Duplicate value: "a"']


def test_container_ports() -> None:
    ports = [
        {"containerPort": 80, "name": "http"},
        {"containerPort": 0, "name": "http"},
        {"containerPort": 70000, "name": "a-very-long-port-name", "protocol": "ICMP"},
    ]
    errors = create("", "pods", pod({"name": "a", "image": "x", "ports": ports}))
    assert errors == [
        'spec.containers[0].ports[1].name: Duplicate value: "http"',
        "spec.containers[0].ports[1].containerPort: Required value",
        'spec.containers[0].ports[2].name: Invalid value: "a-very-long-port-name": must be no '
        "more than 15 characters",
        "spec.containers[0].ports[2].containerPort: Invalid value: 70000: must be between 1 and "
        "65535, inclusive",
        'spec.containers[0].ports[2].protocol: Unsupported value: "ICMP": supported values: '
        '"SCTP", "TCP", "UDP"',
    ]


def test_env_names_and_volume_mounts() -> None:
    c = {
        "name": "a",
        "image": "x",
        "env": [{"name": "GOOD"}, {"name": ""}, {"name": "A=B"}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "missing"}],
    }
    errors = create("", "pods", pod(c, volumes=[{"name": "data"}, {"name": "data"}]))
    assert errors == [
        'spec.volumes[1].name: Duplicate value: "data"',
        "spec.containers[0].env[1].name: Required value",
        'spec.containers[0].env[1].name: Invalid value: "": environment variable name must be '
        "non-empty",
        'spec.containers[0].env[2].name: Invalid value: "A=B": a valid environment variable name '
        "must consist only of printable ASCII characters other than '='",
        'spec.containers[0].volumeMounts[1].name: Not found: "missing"',
        "spec.containers[0].volumeMounts[1].mountPath: Required value",
    ]


def test_pod_policies() -> None:
    errors = create(
        "",
        "pods",
        pod({"name": "a", "image": "x"}, restartPolicy="Sometimes", activeDeadlineSeconds=0),
    )
    assert errors == [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"',
        "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
    ]


def test_pod_updates() -> None:
    old = pod({"name": "a", "image": "nginx:1"})
    strategy_for("", "pods").default(old)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:2"
    new["spec"]["nodeName"] = "node-1"
    new["metadata"]["labels"] = {"x": "y"}
    assert update("", "pods", new, old) == []
    changed = copy.deepcopy(old)
    changed["spec"]["containers"][0]["command"] = ["sh"]
    [message] = update("", "pods", changed, old)
    assert message.startswith(
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    )


def test_namespace_names_are_dns_labels() -> None:
    [message] = create("", "namespaces", {"metadata": {"name": "team.a"}})
    assert message == 'metadata.name: Invalid value: "team.a": must not contain dots'
    assert create("", "namespaces", {"metadata": {"name": "team-a"}}) == []
    bad = {"metadata": {"name": "x"}, "spec": {"finalizers": ["custom"]}}
    assert create("", "namespaces", bad) == [
        'spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor '
        "is it fully qualified"
    ]


def cm(**body: Any) -> dict[str, Any]:
    return {"metadata": {"name": "c", "namespace": "default"}, **body}


def test_config_map_keys_and_size() -> None:
    errors = create("", "configmaps", cm(data={"ok": "1", "bad key": "2", "..x": "3"}))
    assert errors[0].startswith(
        'data[bad key]: Invalid value: "bad key": a valid config key must consist'
    )
    assert errors[1] == "data[..x]: Invalid value: \"..x\": must not start with '..'"
    duplicate = cm(data={"k": "v"}, binaryData={"k": b64("v")})
    assert create("", "configmaps", duplicate) == [
        'data[k]: Invalid value: "k": duplicate of key present in binaryData'
    ]
    big = cm(data={"a": "x" * (1024 * 1024), "b": "y"})
    assert create("", "configmaps", big) == [": Too long: may not be more than 1048576 bytes"]


def test_immutable_config_maps() -> None:
    old = cm(data={"k": "v"}, immutable=True)
    assert (
        update(
            "",
            "configmaps",
            cm(
                data={"k": "v"},
                immutable=True,
                metadata={"name": "c", "namespace": "default", "labels": {"a": "b"}},
            ),
            old,
        )
        == []
    )
    assert update("", "configmaps", cm(data={"k": "w"}, binaryData={"b": "AA=="}), old) == [
        "immutable: Forbidden: field is immutable when `immutable` is set",
        "data: Forbidden: field is immutable when `immutable` is set",
        "binaryData: Forbidden: field is immutable when `immutable` is set",
    ]
    mutable = cm(data={"k": "v"}, immutable=False)
    assert update("", "configmaps", cm(data={"k": "w"}, immutable=True), mutable) == []


def secret(**body: Any) -> dict[str, Any]:
    return {"metadata": {"name": "s", "namespace": "default"}, **body}


def test_secret_keys_size_and_types() -> None:
    assert create("", "secrets", secret(stringData={"password": "x"})) == []
    [bad_key] = create("", "secrets", secret(stringData={"a/b": "x"}))
    assert bad_key.startswith('data[a/b]: Invalid value: "a/b": a valid config key')
    big = secret(data={"a": b64("x" * (1024 * 1024 + 1))})
    assert create("", "secrets", big) == ["data: Too long: may not be more than 1048576 bytes"]
    assert create("", "secrets", secret(type="kubernetes.io/tls", data={"tls.crt": "AA=="})) == [
        "data[tls.key]: Required value"
    ]
    assert create("", "secrets", secret(type="kubernetes.io/basic-auth")) == [
        "data[username]: Required value",
        "data[password]: Required value",
    ]
    assert create("", "secrets", secret(type="kubernetes.io/dockerconfigjson")) == [
        "data[.dockerconfigjson]: Required value"
    ]
    broken = secret(type="kubernetes.io/dockerconfigjson", data={".dockerconfigjson": b64("{")})
    [message] = create("", "secrets", broken)
    assert message.startswith(
        'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": '
    )
    token = secret(type="kubernetes.io/service-account-token")
    assert create("", "secrets", token) == [
        "metadata.annotations[kubernetes.io/service-account.name]: Required value"
    ]


def test_immutable_secrets_and_their_type() -> None:
    old = secret(data={"k": b64("v")}, immutable=True, type="Opaque")
    same = secret(data={"k": b64("v")}, immutable=True)
    assert update("", "secrets", same, old) == []
    assert update("", "secrets", secret(stringData={"k": "w"}, immutable=True), old) == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]
    assert update("", "secrets", secret(data={"k": b64("v")}), old) == [
        "immutable: Forbidden: field is immutable when `immutable` is set"
    ]
    retyped = secret(data={"tls.crt": "", "tls.key": ""}, type="kubernetes.io/tls")
    assert update("", "secrets", retyped, secret(type="Opaque")) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable'
    ]


def test_pod_tolerations_may_only_be_added() -> None:
    old = pod({"name": "a", "image": "x"}, tolerations=[{"key": "k", "operator": "Exists"}])
    strategy_for("", "pods").default(old)
    added = copy.deepcopy(old)
    added["spec"]["tolerations"].append({"key": "k2", "operator": "Exists"})
    assert update("", "pods", added, old) == []
    removed = copy.deepcopy(old)
    removed["spec"]["tolerations"] = removed["spec"]["tolerations"][1:]
    [message] = update("", "pods", removed, old)
    assert message.startswith("spec: Forbidden: pod updates may not change fields")


def test_events_cannot_own_objects() -> None:
    ref = {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "1"}
    obj = {"metadata": {"name": "c", "namespace": "d", "ownerReferences": [ref]}}
    assert create("", "configmaps", obj) == [
        'metadata.ownerReferences: Invalid value: {"apiVersion":"v1","kind":"Event","name":"e",'
        '"uid":"1"}: /v1, Kind=Event is disallowed from being an owner'
    ]


def test_requests_may_not_exceed_limits() -> None:
    resources = {
        "requests": {"cpu": "1500m", "memory": "1Gi", "example.com/gpu": "1"},
        "limits": {"cpu": "1", "memory": "2048Mi", "example.com/gpu": "2"},
    }
    assert create("", "pods", pod({"name": "a", "image": "x", "resources": resources})) == [
        'spec.containers[0].resources.requests: Invalid value: "1500m": must be less than or '
        "equal to cpu limit of 1",
        'spec.containers[0].resources.requests: Invalid value: "1": must be equal to '
        "example.com/gpu limit of 2",
    ]
    fine = {"requests": {"cpu": "0.5"}, "limits": {"cpu": "500m", "memory": "1Gi"}}
    assert create("", "pods", pod({"name": "a", "image": "x", "resources": fine})) == []

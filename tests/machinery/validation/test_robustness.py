"""Malformed objects produce field errors, never exceptions, for every strategy.

The schema layer normally rejects wrongly typed fields first, but defaulting
and semantic validation must still be total: any JSON value anywhere.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.machinery.validation.registry import STRATEGIES, strategy_for

_KEYS = st.sampled_from(
    [
        "metadata",
        "spec",
        "name",
        "namespace",
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
        "template",
        "containers",
        "ports",
        "selector",
        "matchLabels",
        "image",
        "replicas",
        "data",
        "stringData",
        "binaryData",
        "type",
        "clusterIP",
        "clusterIPs",
        "rules",
        "http",
        "paths",
        "roleRef",
        "subjects",
        "schedule",
        "jobTemplate",
        "strategy",
        "rollingUpdate",
        "maxSurge",
        "volumes",
        "env",
        "uid",
        "immutable",
        "egress",
        "ingress",
        "timeZone",
        "restartPolicy",
        "port",
        "targetPort",
    ]
)
_SCALARS = st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=8)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)
_RESOURCES = st.sampled_from([*sorted(STRATEGIES), ("example.com", "widgets")])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_RESOURCES, st.dictionaries(_KEYS, _JSON, max_size=4), st.dictionaries(_KEYS, _JSON))
def test_strategies_never_raise(
    resource: tuple[str, str], obj: dict[str, Any], old: dict[str, Any]
) -> None:
    strategy = strategy_for(*resource)
    strategy.default(obj)
    assert isinstance(strategy.validate_create(obj), list)
    assert isinstance(strategy.validate_update(copy.deepcopy(obj), old), list)


_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [
            {
                "name": "web",
                "image": "nginx",
                "ports": [{"containerPort": 80, "name": "http"}],
                "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}],
                "livenessProbe": {"httpGet": {"port": 80}},
                "resources": {"limits": {"cpu": "1"}},
                "volumeMounts": [{"name": "v", "mountPath": "/v"}],
            }
        ],
        "volumes": [{"name": "v", "secret": {"secretName": "s"}}],
        "tolerations": [{"key": "k", "operator": "Exists"}],
    },
}
_META = {"name": "x", "namespace": "default", "uid": "u", "labels": {"a": "b"}}
_SELECTOR = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}],
}
SEEDS: list[tuple[tuple[str, str], dict[str, Any]]] = [
    (("", "pods"), {"metadata": _META, "spec": _TEMPLATE["spec"]}),
    (
        ("apps", "deployments"),
        {
            "metadata": _META,
            "spec": {
                "selector": _SELECTOR,
                "template": _TEMPLATE,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            },
        },
    ),
    (
        ("apps", "statefulsets"),
        {
            "metadata": _META,
            "spec": {
                "selector": _SELECTOR,
                "template": _TEMPLATE,
                "volumeClaimTemplates": [{"spec": {}}],
                "updateStrategy": {"type": "RollingUpdate"},
            },
        },
    ),
    (
        ("apps", "daemonsets"),
        {
            "metadata": _META,
            "spec": {
                "selector": _SELECTOR,
                "template": _TEMPLATE,
                "updateStrategy": {"rollingUpdate": {"maxUnavailable": "10%"}},
            },
        },
    ),
    (
        ("batch", "jobs"),
        {
            "metadata": _META,
            "spec": {
                "template": _TEMPLATE,
                "podFailurePolicy": {"rules": [{"onPodConditions": [{}]}]},
            },
        },
    ),
    (
        ("batch", "cronjobs"),
        {
            "metadata": _META,
            "spec": {
                "schedule": "* * * * *",
                "timeZone": "UTC",
                "jobTemplate": {"spec": {"template": _TEMPLATE}},
            },
        },
    ),
    (
        ("", "services"),
        {
            "metadata": _META,
            "spec": {
                "type": "NodePort",
                "clusterIP": "10.0.0.1",
                "ports": [{"port": 80, "nodePort": 30000, "targetPort": "http"}],
                "selector": {"a": "b"},
            },
        },
    ),
    (
        ("", "secrets"),
        {
            "metadata": _META,
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "e30="},
            "stringData": {"a": "b"},
        },
    ),
    (
        ("", "configmaps"),
        {"metadata": _META, "data": {"a": "b"}, "binaryData": {"c": "AA=="}, "immutable": True},
    ),
    (("", "namespaces"), {"metadata": {"name": "ns"}, "spec": {"finalizers": ["kubernetes"]}}),
    (
        ("networking.k8s.io", "ingresses"),
        {
            "metadata": _META,
            "spec": {
                "rules": [
                    {
                        "host": "a.io",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "s", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
    ),
    (
        ("networking.k8s.io", "networkpolicies"),
        {
            "metadata": _META,
            "spec": {
                "podSelector": _SELECTOR,
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 80}]}
                ],
            },
        },
    ),
    (
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        {
            "metadata": {"name": "b"},
            "roleRef": {"kind": "ClusterRole", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "s"}],
        },
    ),
    (
        ("rbac.authorization.k8s.io", "clusterroles"),
        {
            "metadata": {"name": "r"},
            "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"]}],
            "aggregationRule": {"clusterRoleSelectors": [_SELECTOR]},
        },
    ),
    (
        ("policy", "poddisruptionbudgets"),
        {"metadata": _META, "spec": {"minAvailable": "50%", "selector": _SELECTOR}},
    ),
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _replace(obj: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    obj[path[0]] = _replace(obj[path[0]], path[1:], new)
    return obj


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_corrupted_field_anywhere_never_raises(data: st.DataObject) -> None:
    resource, seed = data.draw(st.sampled_from(SEEDS))
    old = copy.deepcopy(seed)
    strategy = strategy_for(*resource)
    strategy.default(old)
    path = data.draw(st.sampled_from(_paths(seed)[1:]))
    obj = _replace(copy.deepcopy(seed), path, data.draw(_JSON))
    strategy.default(obj)
    assert isinstance(strategy.validate_create(obj), list)
    assert isinstance(strategy.validate_update(obj, old), list)
    assert isinstance(strategy.validate_update(old, obj), list)

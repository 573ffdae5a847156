"""Ingresses, NetworkPolicies and PodDisruptionBudgets; the strategy table itself."""

from __future__ import annotations

from typing import Any

from corral.machinery.status import FieldError, Invalid
from corral.machinery.validation import KindStrategy, strategy_for

NET = "networking.k8s.io"


def create(group: str, resource: str, obj: dict[str, Any]) -> list[str]:
    strategy = strategy_for(group, resource)
    strategy.default(obj)
    return [str(e) for e in strategy.validate_create(obj)]


def ingress(*paths: dict[str, Any], host: str = "app.example.com") -> dict[str, Any]:
    return {
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {"rules": [{"host": host, "http": {"paths": list(paths)}}]},
    }


BACKEND = {"service": {"name": "web", "port": {"number": 80}}}


def test_a_valid_ingress_passes() -> None:
    path = {"path": "/", "pathType": "Prefix", "backend": BACKEND}
    assert create(NET, "ingresses", ingress(path)) == []
    assert create(NET, "ingresses", ingress(path, host="*.example.com")) == []


def test_ingress_path_type_is_required() -> None:
    assert create(NET, "ingresses", ingress({"path": "/", "backend": BACKEND})) == [
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"
    ]


def test_ingress_paths_and_backends() -> None:
    paths = [
        {"path": "api", "pathType": "Exact", "backend": BACKEND},
        {"path": "/a//b", "pathType": "Prefix", "backend": {}},
        {"path": "/", "pathType": "Regex", "backend": BACKEND},
    ]
    assert create(NET, "ingresses", ingress(*paths, host="10.0.0.1")) == [
        'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
        'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path',
        "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b\": must not contain '//'",
        'spec.rules[0].http.paths[1].backend: Invalid value: "": resource or service backend is '
        "required",
        'spec.rules[0].http.paths[2].pathType: Unsupported value: "Regex": supported values: '
        '"Exact", "ImplementationSpecific", "Prefix"',
    ]


def test_an_empty_ingress_is_refused() -> None:
    empty = {"metadata": {"name": "app", "namespace": "default"}, "spec": {}}
    assert create(NET, "ingresses", empty) == [
        "spec: Invalid value: []: either `defaultBackend` or `rules` must be specified"
    ]


def test_network_policies() -> None:
    policy = {
        "metadata": {"name": "np", "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [
                {
                    "from": [{"podSelector": {}}, {}, {"ipBlock": {"cidr": "10.0.0.0/33"}}],
                    "ports": [{"port": 99999}, {"port": "http", "protocol": "ICMP"}],
                }
            ],
        },
    }
    assert create(NET, "networkpolicies", policy) == [
        "spec.ingress[0].ports[0].port: Invalid value: 99999: must be between 1 and 65535, "
        "inclusive",
        'spec.ingress[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", '
        '"TCP", "UDP"',
        "spec.ingress[0].from[1]: Required value: must specify a peer",
        'spec.ingress[0].from[2].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid '
        "CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
    ]


def test_pod_disruption_budgets() -> None:
    pdb = {
        "metadata": {"name": "pdb", "namespace": "default"},
        "spec": {"minAvailable": 1, "maxUnavailable": "120%", "selector": {}},
    }
    errors = create("policy", "poddisruptionbudgets", pdb)
    assert errors[0].startswith("spec: Invalid value: {")
    assert errors[0].endswith("minAvailable and maxUnavailable cannot be both set")
    assert errors[1:] == [
        'spec.maxUnavailable: Invalid value: "120%": must not be greater than 100%'
    ]
    assert create("policy", "poddisruptionbudgets", {**pdb, "spec": {"minAvailable": "50%"}}) == []


def test_unknown_resources_get_a_metadata_only_strategy() -> None:
    strategy = strategy_for("management.corral.io", "clusters")
    assert isinstance(strategy, KindStrategy)
    obj = {"metadata": {"name": "local"}, "spec": {"anything": True}}
    strategy.default(obj)
    assert obj == {"metadata": {"name": "local"}, "spec": {"anything": True}}
    assert strategy.validate_create(obj) == []
    assert strategy.validate_update(obj, obj) == []


def test_errors_become_an_invalid_status() -> None:
    errors = strategy_for("", "configmaps").validate_create({"metadata": {"namespace": "d"}})
    assert errors == [FieldError.required("metadata.name", "name or generateName is required")]
    status = Invalid("ConfigMap", "", errors).to_status()
    assert status["code"] == 422
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name or generateName is required",
            "field": "metadata.name",
        }
    ]


def test_crd_names_are_plural_dot_group() -> None:
    crd: dict[str, Any] = {
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"plural": "widgets"}},
    }
    assert create("apiextensions.k8s.io", "customresourcedefinitions", crd) == []
    crd["metadata"]["name"] = "widget.example.com"
    assert create("apiextensions.k8s.io", "customresourcedefinitions", crd) == [
        'metadata.name: Invalid value: "widget.example.com": must be '
        'spec.names.plural+"."+spec.group'
    ]


def test_ingress_backend_choices() -> None:
    both = {
        "service": {"name": "web", "port": {"number": 80}},
        "resource": {"kind": "B", "name": "b"},
    }
    no_port = {"service": {"name": "web", "port": {}}}
    named_and_numbered = {"service": {"name": "web", "port": {"name": "http", "number": 80}}}
    paths = [
        {"path": "/a", "pathType": "Prefix", "backend": both},
        {"path": "/b", "pathType": "Prefix", "backend": no_port},
        {"path": "/c", "pathType": "Prefix", "backend": named_and_numbered},
    ]
    assert create(NET, "ingresses", ingress(*paths)) == [
        'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both resource and '
        "service backends",
        "spec.rules[0].http.paths[1].backend: Required value: port name or number is required",
        'spec.rules[0].http.paths[2].backend: Invalid value: "": cannot set both port name & '
        "port number",
    ]

"""Request paths to verbs, resources and scopes, as Kubernetes parses them."""

from __future__ import annotations

import pytest

from corral.apiserver.requestinfo import parse_request_info


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces", {}, ("list", "", "v1", "", "namespaces", "", "")),
        (
            "GET",
            "/api/v1/namespaces/default",
            {},
            ("get", "", "v1", "default", "namespaces", "default", ""),
        ),
        (
            "PUT",
            "/api/v1/namespaces/default/status",
            {},
            ("update", "", "v1", "default", "namespaces", "default", "status"),
        ),
        (
            "GET",
            "/api/v1/namespaces/ns/pods/p/status",
            {},
            ("get", "", "v1", "ns", "pods", "p", "status"),
        ),
        (
            "GET",
            "/apis/apps/v1/namespaces/ns/deployments",
            {"watch": ["true"]},
            ("watch", "apps", "v1", "ns", "deployments", "", ""),
        ),
        (
            "GET",
            "/api/v1/watch/namespaces/ns/configmaps",
            {},
            ("watch", "", "v1", "ns", "configmaps", "", ""),
        ),
        ("GET", "/api/v1/pods", {"watch": ["1"]}, ("watch", "", "v1", "", "pods", "", "")),
        ("POST", "/api/v1/namespaces/ns/pods", {}, ("create", "", "v1", "ns", "pods", "", "")),
        (
            "DELETE",
            "/api/v1/namespaces/ns/pods",
            {},
            ("deletecollection", "", "v1", "ns", "pods", "", ""),
        ),
        ("DELETE", "/api/v1/nodes/n1", {}, ("delete", "", "v1", "", "nodes", "n1", "")),
        (
            "PATCH",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:admin",
            {},
            ("patch", "rbac.authorization.k8s.io", "v1", "", "clusterroles", "system:admin", ""),
        ),
    ],
)
def test_resource_requests(
    method: str, path: str, query: dict[str, list[str]], expected: tuple[str, ...]
) -> None:
    info = parse_request_info(method, path, query)
    assert info.is_resource_request
    got = (
        info.verb,
        info.group,
        info.version,
        info.namespace,
        info.resource,
        info.name,
        info.subresource,
    )
    assert got == expected


@pytest.mark.parametrize(
    "path", ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/version", "/healthz"]
)
def test_non_resource_requests(path: str) -> None:
    info = parse_request_info("GET", path, {})
    assert not info.is_resource_request
    assert info.verb == "get"


def test_extra_segments_are_kept() -> None:
    info = parse_request_info("GET", "/api/v1/namespaces/ns/pods/p/log/extra", {})
    assert info.subresource == "log"
    assert info.parts == ("extra",)

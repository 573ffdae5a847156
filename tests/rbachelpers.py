"""Helpers for the RBAC live tests: namespaces, service account tokens, RBAC objects.

Everything goes through the real HTTPS API of a `corral server` as the admin
(``system:masters``); non-admin callers are service accounts (tokens from
TokenRequest) or users the admin impersonates.
"""

from __future__ import annotations

from typing import Any

import httpx

from polling import poll
from serverproc import CorralServer

RBAC = "/apis/rbac.authorization.k8s.io/v1"


def ensure_namespace(http: httpx.Client, name: str) -> None:
    resp = http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert resp.status_code in (201, 409), resp.text


def sa_token(http: httpx.Client, namespace: str, name: str) -> str:
    """A token of the service account ``namespace``/``name`` (created if missing)."""
    ensure_namespace(http, namespace)
    resp = http.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts", json={"metadata": {"name": name}}
    )
    assert resp.status_code in (201, 409), resp.text
    resp = http.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    assert resp.status_code == 201, resp.text
    token: str = resp.json()["status"]["token"]
    return token


def rules(*specs: tuple[list[str], list[str], list[str]] | dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        if isinstance(spec, dict):
            out.append(spec)
        else:
            verbs, groups, resources = spec
            out.append({"verbs": verbs, "apiGroups": groups, "resources": resources})
    return out


def role_body(name: str, rule_list: list[dict[str, Any]], namespace: str = "") -> dict[str, Any]:
    kind = "Role" if namespace else "ClusterRole"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "rules": rule_list,
    }


def binding_body(
    name: str, role: tuple[str, str], subjects: list[dict[str, str]], namespace: str = ""
) -> dict[str, Any]:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role[0], "name": role[1]},
        "subjects": subjects,
    }


def rbac_path(kind: str, namespace: str = "") -> str:
    resource = kind.lower() + "s"
    return f"{RBAC}/namespaces/{namespace}/{resource}" if namespace else f"{RBAC}/{resource}"


def create(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return http.post(rbac_path(body["kind"], body["metadata"].get("namespace", "")), json=body)


def must_create(http: httpx.Client, body: dict[str, Any]) -> None:
    resp = create(http, body)
    assert resp.status_code == 201, resp.text


def sa(namespace: str, name: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def user(name: str) -> dict[str, str]:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name: str) -> dict[str, str]:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def access_review(
    http: httpx.Client, who: str, groups: list[str], attributes: dict[str, str]
) -> dict[str, Any]:
    resp = http.post(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        json={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": who, "groups": groups, "resourceAttributes": attributes},
        },
    )
    assert resp.status_code == 201, resp.text
    status: dict[str, Any] = resp.json()["status"]
    return status


def wait_allowed(
    server: CorralServer, who: str, groups: list[str], attributes: dict[str, str]
) -> None:
    """Wait until the policy index has what was just created (SubjectAccessReview)."""
    with server.client(server.token) as http:
        poll(
            lambda: access_review(http, who, groups, attributes)["allowed"],
            f"{who} may {attributes}",
            deadline=10,
            interval=0.02,
        )

"""RBAC authorization through the real HTTPS API of a `corral server`.

The matrix test grants a few subjects (service accounts by token, users and
a group by the admin's impersonation) roles through Roles, ClusterRoles,
RoleBindings and ClusterRoleBindings, then sends every verb x resource x
namespace request. Whether each is allowed is computed by `Model`, a small
reimplementation of the RBAC rules written here from the grants (not by
asking the server's authorizer); the server must answer 403 exactly for the
denied ones. The 403 Status, the access reviews and ``kubectl auth can-i``
(with ``--list`` and ``--as``) are checked against the same grants.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubectlproc import run_kubectl
from rbachelpers import (
    binding_body,
    group,
    must_create,
    role_body,
    rules,
    sa,
    sa_token,
    user,
    wait_allowed,
)
from serverproc import CorralServer, module_server

server = module_server("authz")

NS_A, NS_B = "rbac-a", "rbac-b"
ALICE = f"system:serviceaccount:{NS_A}:alice"
BOB = f"system:serviceaccount:{NS_B}:bob"


@dataclass(frozen=True)
class Grant:
    """Who gets which rules where (namespace None: everywhere)."""

    kind: str  # "User" or "Group"
    name: str
    namespace: str | None
    verbs: tuple[str, ...]
    groups: tuple[str, ...]
    resources: tuple[str, ...]
    names: tuple[str, ...] = ()


GRANTS = [
    # Role pod-reader in rbac-a, RoleBinding to the service account alice.
    Grant("User", ALICE, NS_A, ("get", "list"), ("",), ("pods",)),
    # ClusterRole cm-editor, RoleBinding in rbac-b to the user carol.
    Grant("User", "carol", NS_B, ("*",), ("",), ("configmaps",)),
    # ClusterRole secret-one (resourceNames), ClusterRoleBinding to group auditors.
    Grant("Group", "auditors", None, ("get",), ("",), ("secrets",), ("s1",)),
    # ClusterRole scaler (*/scale), ClusterRoleBinding to the service account bob.
    Grant("User", BOB, None, ("get", "update"), ("apps",), ("*/scale",)),
    Grant("User", BOB, None, ("list",), ("apps",), ("deployments",)),
    # ClusterRole pod-lister, ClusterRoleBinding to the group of rbac-b's service accounts.
    Grant("Group", f"system:serviceaccounts:{NS_B}", None, ("list",), ("",), ("pods",)),
]


@dataclass(frozen=True)
class Caller:
    name: str
    groups: tuple[str, ...]
    headers: dict[str, str]


class Model:
    """The expected decision, from `GRANTS` alone."""

    @staticmethod
    def allows(
        caller: Caller, verb: str, api_group: str, resource: str, ns: str, name: str
    ) -> bool:
        _base, _, sub = resource.partition("/")
        for g in GRANTS:
            subject_ok = (g.kind == "User" and g.name == caller.name) or (
                g.kind == "Group" and g.name in caller.groups
            )
            if not subject_ok or (g.namespace is not None and g.namespace != ns):
                continue
            if "*" not in g.verbs and verb not in g.verbs:
                continue
            if api_group not in g.groups:
                continue
            if resource not in g.resources and not (sub and f"*/{sub}" in g.resources):
                continue
            if g.names and name not in g.names:
                continue
            return True
        return False


@pytest.fixture(scope="module")
def callers(server: CorralServer) -> dict[str, Caller]:
    with server.client(server.token) as http:
        alice = sa_token(http, NS_A, "alice")
        bob = sa_token(http, NS_B, "bob")
        must_create(http, role_body("pod-reader", rules((["get", "list"], [""], ["pods"])), NS_A))
        must_create(
            http, binding_body("alice-reads", ("Role", "pod-reader"), [sa(NS_A, "alice")], NS_A)
        )
        must_create(http, role_body("cm-editor", rules((["*"], [""], ["configmaps"]))))
        must_create(
            http, binding_body("carol-cm", ("ClusterRole", "cm-editor"), [user("carol")], NS_B)
        )
        must_create(
            http,
            role_body(
                "secret-one",
                [
                    {
                        "verbs": ["get"],
                        "apiGroups": [""],
                        "resources": ["secrets"],
                        "resourceNames": ["s1"],
                    }
                ],
            ),
        )
        must_create(
            http, binding_body("auditors-s1", ("ClusterRole", "secret-one"), [group("auditors")])
        )
        must_create(
            http,
            role_body(
                "scaler",
                rules(
                    (["get", "update"], ["apps"], ["*/scale"]),
                    (["list"], ["apps"], ["deployments"]),
                ),
            ),
        )
        must_create(http, binding_body("bob-scales", ("ClusterRole", "scaler"), [sa(NS_B, "bob")]))
        must_create(http, role_body("pod-lister", rules((["list"], [""], ["pods"]))))
        must_create(
            http,
            binding_body(
                "nsb-sas-list",
                ("ClusterRole", "pod-lister"),
                [group(f"system:serviceaccounts:{NS_B}")],
            ),
        )
    sa_groups = ("system:serviceaccounts", "system:authenticated")
    out = {
        "alice": Caller(
            ALICE,
            (*sa_groups, f"system:serviceaccounts:{NS_A}"),
            {"Authorization": f"Bearer {alice}"},
        ),
        "bob": Caller(
            BOB, (*sa_groups, f"system:serviceaccounts:{NS_B}"), {"Authorization": f"Bearer {bob}"}
        ),
        "carol": Caller("carol", ("system:authenticated",), {"Impersonate-User": "carol"}),
        "dave": Caller(
            "dave",
            ("auditors", "system:authenticated"),
            {"Impersonate-User": "dave", "Impersonate-Group": "auditors"},
        ),
    }
    wait_allowed(server, ALICE, [], {"verb": "get", "resource": "pods", "namespace": NS_A})
    wait_allowed(server, "carol", [], {"verb": "get", "resource": "configmaps", "namespace": NS_B})
    wait_allowed(server, "x", ["auditors"], {"verb": "get", "resource": "secrets", "name": "s1"})
    wait_allowed(
        server,
        BOB,
        [],
        {"verb": "update", "group": "apps", "resource": "deployments", "subresource": "scale"},
    )
    wait_allowed(
        server, "y", [f"system:serviceaccounts:{NS_B}"], {"verb": "list", "resource": "pods"}
    )
    return out


TARGETS = [
    ("", "pods"),
    ("", "configmaps"),
    ("", "secrets"),
    ("apps", "deployments"),
    ("apps", "deployments/scale"),
]
VERB_NAMES = [
    ("get", "s1"),
    ("get", "s2"),
    ("list", ""),
    ("create", ""),
    ("update", "s1"),
    ("delete", "s2"),
    ("deletecollection", ""),
]
_METHODS = {
    "get": "GET",
    "list": "GET",
    "create": "POST",
    "update": "PUT",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}


def _request(verb: str, api_group: str, resource: str, ns: str, name: str) -> tuple[str, str, Any]:
    base, _, sub = resource.partition("/")
    root = f"/apis/{api_group}/v1" if api_group else "/api/v1"
    path = f"{root}/namespaces/{ns}/{base}"
    if name:
        path += f"/{name}"
        if sub:
            path += f"/{sub}"
    body: dict[str, Any] | None = {} if verb in ("create", "update") else None
    return _METHODS[verb], path, body


def test_rbac_matrix(server: CorralServer, callers: dict[str, Caller]) -> None:
    mismatches = []
    checked = allowed = 0
    with (
        server.client(server.token) as admin,
        httpx.Client(base_url=server.https_url, verify=server.ssl_context(), timeout=10) as anon,
    ):
        for caller, (api_group, resource), ns, (verb, name) in itertools.product(
            callers.values(), TARGETS, (NS_A, NS_B), VERB_NAMES
        ):
            if "/" in resource and not name:
                continue  # subresources are addressed by name
            method, path, body = _request(verb, api_group, resource, ns, name)
            http = anon if "Authorization" in caller.headers else admin
            resp = http.request(method, path, json=body, headers=caller.headers)
            expected = Model.allows(caller, verb, api_group, resource, ns, name)
            checked += 1
            allowed += expected
            if (resp.status_code != 403) != expected:
                mismatches.append(
                    (caller.name, verb, resource, ns, name, resp.status_code, resp.text[:200])
                )
    assert not mismatches, "\n".join(map(str, mismatches))
    assert checked > 200
    assert 10 < allowed < checked - 100


def test_forbidden_status_is_kubernetes_own(
    server: CorralServer, callers: dict[str, Caller]
) -> None:
    with httpx.Client(base_url=server.https_url, verify=server.ssl_context(), timeout=10) as http:
        resp = http.get(f"/api/v1/namespaces/{NS_A}/configmaps", headers=callers["alice"].headers)
        assert resp.status_code == 403
        status = resp.json()
        assert status["reason"] == "Forbidden"
        assert status["message"] == (
            f'configmaps is forbidden: User "{ALICE}" cannot list resource "configmaps" '
            f'in API group "" in the namespace "{NS_A}"'
        )
        assert status["details"] == {"kind": "configmaps", "group": ""} or status["details"] == {
            "kind": "configmaps"
        }
        resp = http.get("/apis/apps/v1/deployments/x", headers=callers["alice"].headers)
        resp = http.get("/api/v1/nodes/n1", headers=callers["alice"].headers)
        assert resp.json()["message"] == (
            f'nodes "n1" is forbidden: User "{ALICE}" cannot get resource "nodes" '
            'in API group "" at the cluster scope'
        )
        resp = http.get("/metrics", headers=callers["alice"].headers)
        assert resp.status_code == 403
        assert resp.json()["message"] == f'forbidden: User "{ALICE}" cannot get path "/metrics"'
        # discovery, health and the self reviews stay open to every authenticated user
        assert http.get("/apis", headers=callers["alice"].headers).status_code == 200
        assert http.get("/healthz").status_code == 200
        assert http.get("/version").status_code == 200


def test_subject_access_reviews(server: CorralServer, callers: dict[str, Caller]) -> None:
    with server.client(server.token) as http:
        resp = http.post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json={
                "spec": {
                    "user": ALICE,
                    "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": NS_A},
                }
            },
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["status"] == {
            "allowed": True,
            "reason": f'RBAC: allowed by RoleBinding "alice-reads/{NS_A}" of Role "pod-reader" '
            f'to ServiceAccount "alice/{NS_A}"',
        }
        resp = http.post(
            f"/apis/authorization.k8s.io/v1/namespaces/{NS_B}/localsubjectaccessreviews",
            json={
                "spec": {
                    "user": "carol",
                    "resourceAttributes": {"verb": "delete", "resource": "configmaps"},
                }
            },
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["status"]["allowed"] is True
        assert resp.json()["metadata"]["namespace"] == NS_B
        resp = http.post(
            f"/apis/authorization.k8s.io/v1/namespaces/{NS_A}/localsubjectaccessreviews",
            json={
                "spec": {
                    "user": "carol",
                    "resourceAttributes": {"verb": "delete", "resource": "configmaps"},
                }
            },
        )
        assert resp.json()["status"] == {"allowed": False}
        resp = http.post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json={"spec": {"resourceAttributes": {"verb": "get"}}},
        )
        assert resp.status_code == 422
        assert resp.json()["details"]["causes"][0]["field"] == "spec.user"
    # asking about others is itself authorized
    with httpx.Client(base_url=server.https_url, verify=server.ssl_context(), timeout=10) as http:
        resp = http.post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json={"spec": {"user": "x", "resourceAttributes": {"verb": "get"}}},
            headers=callers["alice"].headers,
        )
        assert resp.status_code == 403
        assert 'cannot create resource "subjectaccessreviews"' in resp.json()["message"]


def test_kubectl_auth_can_i(
    server: CorralServer, callers: dict[str, Caller], tmp_path: Path
) -> None:
    def can_i(*args: str) -> tuple[int, str]:
        done = run_kubectl(server, tmp_path, "auth", "can-i", *args)
        return done.returncode, done.stdout.strip()

    assert can_i("list", "pods", "-n", NS_A, f"--as={ALICE}") == (0, "yes")
    assert can_i("delete", "pods", "-n", NS_A, f"--as={ALICE}") == (1, "no")
    assert can_i("list", "pods", "-n", NS_B, f"--as={ALICE}") == (1, "no")
    assert can_i("get", "secrets/s1", "-n", NS_B, "--as=dave", "--as-group=auditors") == (0, "yes")
    assert can_i("get", "secrets/s2", "-n", NS_B, "--as=dave", "--as-group=auditors") == (1, "no")
    assert can_i(
        "update", "deployments.apps", "--subresource=scale", "-n", NS_A, f"--as={BOB}"
    ) == (0, "yes")
    token = callers["alice"].headers["Authorization"].split()[1]
    assert can_i("list", "pods", "-n", NS_A, "--token", token) == (0, "yes")
    assert can_i("list", "configmaps", "-n", NS_A, "--token", token) == (1, "no")


def test_kubectl_auth_can_i_list_shows_the_rules(
    server: CorralServer, callers: dict[str, Caller], tmp_path: Path
) -> None:
    done = run_kubectl(server, tmp_path, "auth", "can-i", "--list", "-n", NS_A, f"--as={ALICE}")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert ["pods", "[]", "[]", "[get", "list]"] in rows, done.stdout
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows, (
        done.stdout
    )
    assert ["[/api/*]", "[]", "[get]"] in rows, done.stdout
    assert not any(r and r[0] == "configmaps" for r in rows)
    done = run_kubectl(server, tmp_path, "auth", "can-i", "--list", "-n", NS_B, "--as=carol")
    assert ["configmaps", "[]", "[]", "[*]"] in [line.split() for line in done.stdout.splitlines()]


def test_kubectl_shows_the_403(
    server: CorralServer, callers: dict[str, Caller], tmp_path: Path
) -> None:
    token = callers["alice"].headers["Authorization"].split()[1]
    done = run_kubectl(server, tmp_path, "--token", token, "get", "configmaps", "-n", NS_A)
    assert done.returncode == 1
    assert (
        f'Error from server (Forbidden): configmaps is forbidden: User "{ALICE}" cannot list '
        f'resource "configmaps" in API group "" in the namespace "{NS_A}"'
    ) in done.stderr
    done = run_kubectl(server, tmp_path, "--token", token, "get", "pods", "-n", NS_A, "-o", "yaml")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["kind"] == "List"


def test_the_admin_and_the_default_policy(server: CorralServer, tmp_path: Path) -> None:
    done = run_kubectl(server, tmp_path, "get", "clusterroles", "-o", "name")
    names = set(done.stdout.split())
    for name in (
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
        "system:kube-controller-manager",
        "system:node",
    ):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}" in names
    with server.client(server.token) as http:
        assert http.get("/metrics").status_code == 200

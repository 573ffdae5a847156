"""Escalation prevention through the real API: nobody grants what they do not hold.

A service account ``manager`` may write Roles and RoleBindings in its
namespace and holds ``get``/``list`` on configmaps there. It may create a
Role or binding within that, and nothing beyond — through Roles,
ClusterRoles, bindings to stronger roles, updates or aggregation — until
it is given ``bind`` (for one named role) or ``escalate``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from rbachelpers import (
    RBAC,
    binding_body,
    create,
    must_create,
    role_body,
    rules,
    sa,
    sa_token,
    wait_allowed,
)
from serverproc import CorralServer, module_server

server = module_server("escalation")

NS = "esc"
MANAGER = f"system:serviceaccount:{NS}:manager"
RBAC_ALL = (["create", "update", "patch", "get", "list", "delete"], ["rbac.authorization.k8s.io"])


@pytest.fixture(scope="module")
def manager(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as admin:
        token = sa_token(admin, NS, "manager")
        must_create(
            admin,
            role_body(
                "manager",
                rules(
                    (RBAC_ALL[0], RBAC_ALL[1], ["roles", "rolebindings"]),
                    (["get", "list"], [""], ["configmaps"]),
                ),
                NS,
            ),
        )
        must_create(admin, binding_body("manager", ("Role", "manager"), [sa(NS, "manager")], NS))
        must_create(
            admin,
            role_body(
                "cluster-writer",
                rules((RBAC_ALL[0], RBAC_ALL[1], ["clusterroles", "clusterrolebindings"])),
            ),
        )
        must_create(
            admin,
            binding_body("manager-cluster", ("ClusterRole", "cluster-writer"), [sa(NS, "manager")]),
        )
        must_create(admin, role_body("secret-reader", rules((["get"], [""], ["secrets"])), NS))
    wait_allowed(
        server,
        MANAGER,
        [],
        {"verb": "create", "group": "rbac.authorization.k8s.io", "resource": "clusterroles"},
    )
    wait_allowed(server, MANAGER, [], {"verb": "get", "resource": "configmaps", "namespace": NS})
    with server.client(token) as http:
        yield http


def forbidden(resp: httpx.Response, *words: str) -> None:
    assert resp.status_code == 403, resp.text
    message = resp.json()["message"]
    for word in words:
        assert word in message, message


def test_role_within_held_rules_is_allowed(manager: httpx.Client) -> None:
    resp = create(manager, role_body("cm-get", rules((["get"], [""], ["configmaps"])), NS))
    assert resp.status_code == 201, resp.text


def test_role_beyond_held_rules_is_403(manager: httpx.Client) -> None:
    resp = create(manager, role_body("steal", rules((["get"], [""], ["secrets"])), NS))
    forbidden(
        resp,
        'roles.rbac.authorization.k8s.io "steal" is forbidden: ',
        f'user "{MANAGER}"',
        "is attempting to grant RBAC permissions not currently held:",
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    )
    resp = create(manager, role_body("wide", rules((["*"], [""], ["configmaps"])), NS))
    forbidden(resp, '{APIGroups:[""], Resources:["configmaps"], Verbs:["*"]}')


def test_update_adding_rules_is_403(manager: httpx.Client) -> None:
    must_create(manager, role_body("grows", rules((["list"], [""], ["configmaps"])), NS))
    path = f"{RBAC}/namespaces/{NS}/roles/grows"
    body = manager.get(path).json()
    body["rules"].append({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]})
    forbidden(manager.put(path, json=body), "not currently held")
    patch = [
        {
            "op": "add",
            "path": "/rules/-",
            "value": {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
        }
    ]
    resp = manager.patch(
        path,
        content=json.dumps(patch),
        headers={"Content-Type": "application/json-patch+json"},
    )
    forbidden(resp, "not currently held")
    # metadata-only updates of an existing role are fine
    body = manager.get(path).json()
    body["metadata"]["labels"] = {"touched": "yes"}
    assert manager.put(path, json=body).status_code == 200


def test_cluster_role_beyond_held_rules_is_403(manager: httpx.Client) -> None:
    # its configmaps rights are namespaced: they do not cover a ClusterRole
    forbidden(
        create(manager, role_body("cm-cluster", rules((["get"], [""], ["configmaps"])))),
        "not currently held",
    )


def test_binding_to_a_stronger_role_is_403(manager: httpx.Client) -> None:
    resp = create(manager, binding_body("b1", ("Role", "secret-reader"), [sa(NS, "manager")], NS))
    forbidden(
        resp, 'rolebindings.rbac.authorization.k8s.io "b1" is forbidden', "not currently held"
    )
    resp = create(
        manager, binding_body("b2", ("ClusterRole", "cluster-admin"), [sa(NS, "manager")], NS)
    )
    forbidden(resp, "not currently held")
    resp = create(
        manager, binding_body("b3", ("ClusterRole", "cluster-admin"), [sa(NS, "manager")])
    )
    forbidden(resp, 'clusterrolebindings.rbac.authorization.k8s.io "b3" is forbidden')


def test_binding_to_a_covered_role_is_allowed(manager: httpx.Client) -> None:
    must_create(manager, role_body("cm-list", rules((["list"], [""], ["configmaps"])), NS))
    resp = create(manager, binding_body("ok", ("Role", "cm-list"), [sa(NS, "default")], NS))
    assert resp.status_code == 201, resp.text


def test_aggregation_cannot_escalate(manager: httpx.Client) -> None:
    body = role_body("gather", [])
    body["aggregationRule"] = {
        "clusterRoleSelectors": [
            {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}
        ]
    }
    forbidden(
        create(manager, body), "must have cluster-admin privileges to use the aggregationRule"
    )
    # nor by labelling a role into an aggregated one it can bind
    labelled = role_body("sneak", rules((["get"], [""], ["secrets"])))
    labelled["metadata"]["labels"] = {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    forbidden(create(manager, labelled), "not currently held")


def test_bind_and_escalate_verbs(server: CorralServer, manager: httpx.Client) -> None:
    with server.client(server.token) as admin:
        must_create(
            admin,
            role_body(
                "may-bind-view",
                [
                    {
                        "verbs": ["bind"],
                        "apiGroups": ["rbac.authorization.k8s.io"],
                        "resources": ["clusterroles"],
                        "resourceNames": ["view"],
                    }
                ],
                NS,
            ),
        )
        must_create(
            admin, binding_body("may-bind-view", ("Role", "may-bind-view"), [sa(NS, "manager")], NS)
        )
        must_create(
            admin,
            role_body(
                "may-escalate", rules((["escalate"], ["rbac.authorization.k8s.io"], ["roles"])), NS
            ),
        )
        must_create(
            admin, binding_body("may-escalate", ("Role", "may-escalate"), [sa(NS, "manager")], NS)
        )
    wait_allowed(
        server,
        MANAGER,
        [],
        {
            "verb": "bind",
            "group": "rbac.authorization.k8s.io",
            "resource": "clusterroles",
            "name": "view",
            "namespace": NS,
        },
    )
    wait_allowed(
        server,
        MANAGER,
        [],
        {
            "verb": "escalate",
            "group": "rbac.authorization.k8s.io",
            "resource": "roles",
            "namespace": NS,
        },
    )
    resp = create(manager, binding_body("views", ("ClusterRole", "view"), [sa(NS, "default")], NS))
    assert resp.status_code == 201, resp.text
    # bind is per role name: edit is still refused
    forbidden(
        create(manager, binding_body("edits", ("ClusterRole", "edit"), [sa(NS, "default")], NS)),
        "not currently held",
    )
    # escalate on roles: any Role in the namespace
    resp = create(manager, role_body("now-ok", rules((["get"], [""], ["secrets"])), NS))
    assert resp.status_code == 201, resp.text

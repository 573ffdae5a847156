"""Impersonation through the real HTTPS API: granted values work, anything else is 403.

A service account is allowed to impersonate exactly the user ``carol``
(``impersonate`` on ``users`` with resourceNames) and the group ``qa``;
it must not get further by naming the headers in ``Connection:``, sending
them twice or in odd case, or by adding an ungranted group, uid or extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kubectlproc import run_kubectl
from rbachelpers import (
    binding_body,
    group,
    must_create,
    role_body,
    sa,
    sa_token,
    user,
    wait_allowed,
)
from serverproc import CorralServer, module_server

server = module_server("impersonation")

NS = "imp"
ACTOR = f"system:serviceaccount:{NS}:actor"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}


@pytest.fixture(scope="module")
def actor(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as admin:
        token = sa_token(admin, NS, "actor")
        must_create(
            admin,
            role_body(
                "impersonate-carol",
                [
                    {
                        "verbs": ["impersonate"],
                        "apiGroups": [""],
                        "resources": ["users"],
                        "resourceNames": ["carol"],
                    },
                    {
                        "verbs": ["impersonate"],
                        "apiGroups": [""],
                        "resources": ["groups"],
                        "resourceNames": ["qa"],
                    },
                ],
            ),
        )
        must_create(
            admin,
            binding_body(
                "actor-impersonates", ("ClusterRole", "impersonate-carol"), [sa(NS, "actor")]
            ),
        )
        must_create(
            admin,
            role_body(
                "cm-reader", [{"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"]}]
            ),
        )
        must_create(
            admin, binding_body("carol-reads", ("ClusterRole", "cm-reader"), [user("carol")])
        )
        must_create(
            admin,
            role_body(
                "secret-reader", [{"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"]}]
            ),
        )
        must_create(
            admin, binding_body("qa-reads", ("ClusterRole", "secret-reader"), [group("qa")])
        )
    wait_allowed(server, ACTOR, [], {"verb": "impersonate", "resource": "groups", "name": "qa"})
    wait_allowed(server, "carol", [], {"verb": "list", "resource": "configmaps"})
    wait_allowed(server, "x", ["qa"], {"verb": "list", "resource": "secrets"})
    with server.client(token) as http:
        yield http


def whoami(http: httpx.Client, headers: list[tuple[str, str]]) -> httpx.Response:
    return http.post(WHOAMI, json=REVIEW, headers=headers)


def test_granted_impersonation_acts_as_the_user(actor: httpx.Client) -> None:
    resp = whoami(actor, [("Impersonate-User", "carol")])
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"]["userInfo"] == {
        "username": "carol",
        "groups": ["system:authenticated"],
    }
    assert actor.get("/api/v1/configmaps", headers={"Impersonate-User": "carol"}).status_code == 200
    assert actor.get("/api/v1/configmaps").status_code == 403  # not as itself
    resp = actor.get(
        "/api/v1/secrets", headers=[("Impersonate-User", "carol"), ("Impersonate-Group", "qa")]
    )
    assert resp.status_code == 200, resp.text


def test_ungranted_user_is_403_with_kubernetes_message(actor: httpx.Client) -> None:
    resp = actor.get("/api/v1/configmaps", headers={"Impersonate-User": "admin"})
    assert resp.status_code == 403
    assert resp.json()["message"] == (
        f'users "admin" is forbidden: User "{ACTOR}" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    )


@pytest.mark.parametrize(
    "headers",
    [
        [("Impersonate-User", "carol"), ("Impersonate-Group", "system:masters")],
        [
            ("Impersonate-User", "carol"),
            ("Impersonate-Group", "qa"),
            ("Impersonate-Group", "system:masters"),
        ],
        [("Impersonate-User", "carol"), ("Impersonate-Uid", "1234")],
        [("Impersonate-User", "carol"), ("Impersonate-Extra-Scopes", "all")],
        [("Impersonate-User", "system:serviceaccount:kube-system:default")],
        # the headers named as hop-by-hop must still be checked, not dropped or trusted
        [("Connection", "Impersonate-User"), ("Impersonate-User", "admin")],
        [
            ("Connection", "close, Impersonate-Group"),
            ("Impersonate-User", "carol"),
            ("Impersonate-Group", "system:masters"),
        ],
        # twice: the first value is the one checked and the one used
        [("Impersonate-User", "admin"), ("Impersonate-User", "carol")],
        # any case
        [("iMPERSONATE-uSER", "admin")],
        [("Impersonate-User", "carol"), ("IMPERSONATE-GROUP", "system:masters")],
    ],
)
def test_tricks_do_not_bypass_the_check(
    actor: httpx.Client, headers: list[tuple[str, str]]
) -> None:
    resp = whoami(actor, headers)
    assert resp.status_code == 403, resp.text
    assert "cannot impersonate" in resp.json()["message"]
    assert actor.get("/api/v1/secrets/", headers=headers).status_code == 403


def test_second_user_header_is_ignored_not_merged(actor: httpx.Client) -> None:
    resp = whoami(actor, [("Impersonate-User", "carol"), ("Impersonate-User", "admin")])
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"]["userInfo"]["username"] == "carol"


def test_group_without_user_is_400(actor: httpx.Client) -> None:
    resp = whoami(actor, [("Impersonate-Group", "qa")])
    assert resp.status_code == 400
    assert "without impersonating a user" in resp.json()["message"]


def test_admin_impersonates_a_service_account(server: CorralServer, actor: httpx.Client) -> None:
    with server.client(server.token) as http:
        resp = whoami(http, [("Impersonate-User", ACTOR)])
        info = resp.json()["status"]["userInfo"]
        assert info["username"] == ACTOR
        assert info["groups"] == [
            "system:serviceaccounts",
            f"system:serviceaccounts:{NS}",
            "system:authenticated",
        ]


def test_kubectl_as(server: CorralServer, actor: httpx.Client, tmp_path: Path) -> None:
    done = run_kubectl(server, tmp_path, "auth", "whoami", "--as=carol", "--as-group=qa")
    assert done.returncode == 0, done.stderr
    assert "carol" in done.stdout
    assert "qa" in done.stdout
    done = run_kubectl(server, tmp_path, "get", "pods", "-n", "default", "--as=carol")
    assert done.returncode == 1
    assert 'User "carol" cannot list resource "pods"' in done.stderr


def test_empty_user_header_is_no_impersonation(actor: httpx.Client) -> None:
    # as Go's Header.Get: the first value counts, and an empty one asks for nothing
    resp = whoami(actor, [("Impersonate-User", ""), ("Impersonate-User", "admin")])
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"]["userInfo"]["username"] == ACTOR
    resp = whoami(actor, [("Impersonate-User", ""), ("Impersonate-Group", "qa")])
    assert resp.status_code == 400

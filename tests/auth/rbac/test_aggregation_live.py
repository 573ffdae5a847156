"""ClusterRole aggregation on a real server, written by the controller manager.

The server runs ``--controllers clusterrole-aggregation`` as Corral's
least-privilege controller-manager identity (not ``system:masters``): the
bootstrap ``view``/``edit``/``admin`` roles get their aggregated rules, a
new ClusterRole labelled ``aggregate-to-view`` flows into all three, and
taking the label off takes its rules out again. Authorization follows the
same union whether or not the controller has written it yet.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from polling import poll
from rbachelpers import RBAC, access_review, binding_body, must_create, role_body, rules, user
from serverproc import CorralServer, module_server

server = module_server("aggregation", ("--controllers", "clusterrole-aggregation"))
wait_for = partial(poll, deadline=20.0, interval=0.05)
VIEW_LABEL = "rbac.authorization.k8s.io/aggregate-to-view"
WIDGETS = {"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]}


def role_rules(http: httpx.Client, name: str) -> list[Any]:
    found: list[Any] = http.get(f"{RBAC}/clusterroles/{name}").json().get("rules") or []
    return found


def has_widgets(http: httpx.Client, name: str) -> bool:
    return WIDGETS in role_rules(http, name)


def test_bootstrap_roles_carry_their_aggregated_rules(server: CorralServer) -> None:
    with server.client(server.token) as http:
        view = wait_for(lambda: role_rules(http, "view"), "view has rules")
        assert {
            "verbs": ["get", "list", "watch"],
            "apiGroups": [""],
            "resources": ["namespaces"],
        } in view
        edit = wait_for(
            lambda: len(role_rules(http, "edit")) > len(view) and role_rules(http, "edit")
        )
        assert all(rule in edit for rule in view)
        admin = wait_for(
            lambda: len(role_rules(http, "admin")) > len(edit) and role_rules(http, "admin")
        )
        assert all(rule in admin for rule in edit)


def test_labelled_role_flows_in_and_out(server: CorralServer) -> None:
    with server.client(server.token) as http:
        body = role_body(
            "widget-viewer", rules((WIDGETS["verbs"], WIDGETS["apiGroups"], WIDGETS["resources"]))
        )
        body["metadata"]["labels"] = {VIEW_LABEL: "true"}
        must_create(http, body)
        for name in ("view", "edit", "admin"):
            wait_for(partial(has_widgets, http, name), f"{name} has widgets")
        must_create(
            http, binding_body("viewer", ("ClusterRole", "view"), [user("viewer")], "default")
        )
        attrs = {
            "verb": "get",
            "group": "example.com",
            "resource": "widgets",
            "namespace": "default",
        }
        wait_for(lambda: access_review(http, "viewer", [], attrs)["allowed"], "viewer sees widgets")
        stored = http.get(f"{RBAC}/clusterroles/widget-viewer").json()
        stored["metadata"]["labels"] = {}
        assert http.put(f"{RBAC}/clusterroles/widget-viewer", json=stored).status_code == 200
        wait_for(lambda: WIDGETS not in role_rules(http, "admin"), "admin lost widgets")
        wait_for(lambda: not access_review(http, "viewer", [], attrs)["allowed"], "widgets gone")

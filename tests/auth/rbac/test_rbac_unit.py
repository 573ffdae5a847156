"""RBAC matching, coverage (escalation) and the policy index, without a server.

The expected answers are Kubernetes' documented ones: ``*/scale`` matches any
resource's scale subresource, ``/apis/*`` any path under ``/apis/``, a
resourceNames rule never matches a list, a RoleBinding to a ClusterRole
grants only in its namespace, aggregation follows labels.
"""

from __future__ import annotations

from typing import Any

import pytest

from corral.auth.rbac import PolicyIndex, RBACAuthorizer, covers, default_policy, reconcile
from corral.auth.rbac.rules import PolicyRule, parse_rule, rule_allows
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes

ALICE = UserInfo("alice", groups=("devs", "system:authenticated"))


def rule(**kw: Any) -> PolicyRule:
    return parse_rule(kw)


@pytest.mark.parametrize(
    ("raw", "attrs", "allowed"),
    [
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
            Attributes("get", resource="pods"),
            True,
        ),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
            Attributes("list", resource="pods"),
            False,
        ),
        (
            {"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]},
            Attributes("delete", resource="pods"),
            True,
        ),
        (
            {"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]},
            Attributes("get", resource="pods"),
            False,
        ),
        (
            {"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]},
            Attributes("get", group="apps", resource="deployments"),
            True,
        ),
        # subresources: exact, */sub, and a bare resource does not cover its subresources
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]},
            Attributes("get", resource="pods", subresource="log"),
            True,
        ),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
            Attributes("get", resource="pods", subresource="log"),
            False,
        ),
        (
            {"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/scale"]},
            Attributes("update", group="apps", resource="deployments", subresource="scale"),
            True,
        ),
        (
            {"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/scale"]},
            Attributes("update", group="apps", resource="deployments"),
            False,
        ),
        # resourceNames
        (
            {
                "verbs": ["get", "list"],
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["s1"],
            },
            Attributes("get", resource="secrets", name="s1"),
            True,
        ),
        (
            {
                "verbs": ["get", "list"],
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["s1"],
            },
            Attributes("get", resource="secrets", name="s2"),
            False,
        ),
        (
            {
                "verbs": ["get", "list"],
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["s1"],
            },
            Attributes("list", resource="secrets"),
            False,
        ),
        # non-resource URLs
        (
            {"verbs": ["get"], "nonResourceURLs": ["/apis/*"]},
            Attributes("get", resource_request=False, path="/apis/apps/v1"),
            True,
        ),
        (
            {"verbs": ["get"], "nonResourceURLs": ["/apis/*"]},
            Attributes("get", resource_request=False, path="/api"),
            False,
        ),
        (
            {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
            Attributes("get", resource_request=False, path="/healthz"),
            True,
        ),
        (
            {"verbs": ["get"], "nonResourceURLs": ["*"]},
            Attributes("post", resource_request=False, path="/x"),
            False,
        ),
        (
            {"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]},
            Attributes("get", resource_request=False, path="/x"),
            False,
        ),
    ],
)
def test_rule_matching(raw: dict[str, Any], attrs: Attributes, allowed: bool) -> None:
    assert rule_allows(parse_rule(raw), attrs) is allowed


def test_covers_breaks_rules_down() -> None:
    owned = [rule(verbs=["get", "list"], apiGroups=[""], resources=["pods", "configmaps"])]
    assert covers(owned, [rule(verbs=["get"], apiGroups=[""], resources=["pods"])]) == []
    missing = covers(owned, [rule(verbs=["get", "delete"], apiGroups=[""], resources=["pods"])])
    assert [m.describe() for m in missing] == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}'
    ]


def test_covers_subresources_names_and_urls() -> None:
    owned = [
        rule(verbs=["get"], apiGroups=["apps"], resources=["*/scale"]),
        rule(verbs=["get"], apiGroups=[""], resources=["secrets"], resourceNames=["a", "b"]),
        rule(verbs=["get"], nonResourceURLs=["/apis/*"]),
    ]
    assert not covers(
        owned, [rule(verbs=["get"], apiGroups=["apps"], resources=["deployments/scale"])]
    )
    assert covers(owned, [rule(verbs=["get"], apiGroups=["apps"], resources=["deployments"])])
    assert not covers(
        owned, [rule(verbs=["get"], apiGroups=[""], resources=["secrets"], resourceNames=["a"])]
    )
    # a named grant does not cover an unnamed one
    assert covers(owned, [rule(verbs=["get"], apiGroups=[""], resources=["secrets"])])
    assert not covers(owned, [rule(verbs=["get"], nonResourceURLs=["/apis/apps"])])
    assert covers(owned, [rule(verbs=["get"], nonResourceURLs=["/api"])])
    star = [rule(verbs=["*"], apiGroups=["*"], resources=["*"])]
    assert not covers(
        star,
        [rule(verbs=["escalate"], apiGroups=["rbac.authorization.k8s.io"], resources=["roles/x"])],
    )


def _binding(
    kind: str, name: str, ref: tuple[str, str], subjects: list[dict[str, str]], ns: str = ""
) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "kind": kind,
        "metadata": meta,
        "roleRef": {"kind": ref[0], "name": ref[1]},
        "subjects": subjects,
    }


def test_index_decides_with_kubernetes_reasons() -> None:
    index = PolicyIndex()
    index.apply(
        "clusterroles",
        {
            "metadata": {"name": "reader"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
        },
    )
    index.apply(
        "roles",
        {
            "metadata": {"name": "cm", "namespace": "a"},
            "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"]}],
        },
    )
    index.apply(
        "clusterrolebindings",
        _binding(
            "ClusterRoleBinding",
            "devs-read",
            ("ClusterRole", "reader"),
            [{"kind": "Group", "name": "devs"}],
        ),
    )
    index.apply(
        "rolebindings",
        _binding(
            "RoleBinding", "alice-cm", ("Role", "cm"), [{"kind": "User", "name": "alice"}], "a"
        ),
    )
    index.apply(
        "rolebindings",
        _binding(
            "RoleBinding",
            "sa-read",
            ("ClusterRole", "reader"),
            [{"kind": "ServiceAccount", "name": "bot"}],
            "b",
        ),
    )
    authz = RBACAuthorizer(index)
    decision = authz.authorize(ALICE, Attributes("get", resource="pods", namespace="x"))
    assert decision.allowed
    assert (
        decision.reason
        == 'RBAC: allowed by ClusterRoleBinding "devs-read" of ClusterRole "reader" to Group "devs"'
    )
    decision = authz.authorize(ALICE, Attributes("list", resource="configmaps", namespace="a"))
    assert (
        decision.reason == 'RBAC: allowed by RoleBinding "alice-cm/a" of Role "cm" to User "alice"'
    )
    assert not authz.authorize(
        ALICE, Attributes("list", resource="configmaps", namespace="b")
    ).allowed
    bot = UserInfo("system:serviceaccount:b:bot", groups=("system:serviceaccounts",))
    decision = authz.authorize(bot, Attributes("get", resource="pods", namespace="b"))
    assert decision.reason == (
        'RBAC: allowed by RoleBinding "sa-read/b" of ClusterRole "reader" to ServiceAccount "bot/b"'
    )
    assert not authz.authorize(bot, Attributes("get", resource="pods", namespace="a")).allowed
    assert not authz.authorize(bot, Attributes("get", resource="pods")).allowed
    index.remove("rolebindings", "a", "alice-cm")
    assert not authz.authorize(
        ALICE, Attributes("list", resource="configmaps", namespace="a")
    ).allowed
    assert index.binding_count == 2


def test_aggregation_follows_labels() -> None:
    index = PolicyIndex()
    index.apply(
        "clusterroles",
        {
            "metadata": {"name": "agg"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
            "rules": [],
        },
    )
    index.apply(
        "clusterrolebindings",
        _binding(
            "ClusterRoleBinding", "b", ("ClusterRole", "agg"), [{"kind": "User", "name": "alice"}]
        ),
    )
    authz = RBACAuthorizer(index)
    attrs = Attributes("get", resource="pods", namespace="n")
    assert not authz.authorize(ALICE, attrs).allowed
    index.apply(
        "clusterroles",
        {
            "metadata": {"name": "part", "labels": {"x": "y"}},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
        },
    )
    assert authz.authorize(ALICE, attrs).allowed
    index.apply(
        "clusterroles",
        {
            "metadata": {"name": "part", "labels": {"x": "z"}},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
        },
    )
    assert not authz.authorize(ALICE, attrs).allowed


def test_bootstrap_policy_aggregates_view_into_edit_into_admin() -> None:
    index = PolicyIndex()
    for resource, obj in default_policy():
        index.apply(resource, obj)
    view = set(index.cluster_role_rules("view") or ())
    edit = set(index.cluster_role_rules("edit") or ())
    admin = set(index.cluster_role_rules("admin") or ())
    assert view
    assert view < edit < admin


def test_reconcile_adds_missing_rules_unless_autoupdate_is_off() -> None:
    _, wanted = next(p for p in default_policy() if p[1]["metadata"]["name"] == "system:basic-user")
    stored = {**wanted, "rules": wanted["rules"][:1]}
    fixed = reconcile("clusterroles", stored, wanted)
    assert fixed is not None
    assert fixed["rules"] == wanted["rules"]
    assert reconcile("clusterroles", wanted, wanted) is None
    off = {
        **stored,
        "metadata": {
            **wanted["metadata"],
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "false"},
        },
    }
    assert reconcile("clusterroles", off, wanted) is None

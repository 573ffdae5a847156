"""The RBAC authorizer: Kubernetes' ``rbac.RBACAuthorizer`` over a `PolicyIndex`.

A request is allowed when any rule of any role bound to the user (by name,
by one of their groups, or as a ServiceAccount) allows it: ClusterRoleBindings
grant everywhere, RoleBindings only in their namespace (also when they
refer to a ClusterRole). The reason names the first binding that allowed
it, in Kubernetes' words: ``RBAC: allowed by ClusterRoleBinding "x" of
ClusterRole "y" to User "z"``. Members of ``system:masters`` are allowed
everything before RBAC is asked, as kube-apiserver's privileged-group
authorizer does. A denial carries no reason (RBAC has no opinion).

`rules_for` lists the rules a user holds in a namespace (SelfSubjectRulesReview,
and the escalation check's "rules the caller holds").
"""

from __future__ import annotations

from corral.auth.rbac.index import PolicyIndex
from corral.auth.rbac.rules import PolicyRule, rule_allows
from corral.machinery.authn import MASTERS_GROUP, UserInfo
from corral.machinery.authz import (
    Attributes,
    Decision,
    NonResourceRule,
    ResourceRule,
    RuleSet,
)


class RBACAuthorizer:
    """Decides requests, and lists rules, from the RBAC objects in ``index``."""

    def __init__(self, index: PolicyIndex) -> None:
        self.index = index

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        if MASTERS_GROUP in user.groups:
            return Decision(True, "")
        index = self.index
        namespace = attributes.namespace if attributes.resource_request else ""
        for binding, subject in index.bindings_for(user.name, user.groups, namespace):
            rules = index.role_rules(binding)
            if not rules:
                continue
            for rule in rules:
                if rule_allows(rule, attributes):
                    return Decision(
                        True,
                        f"RBAC: allowed by {binding.kind} {_q(binding.label)} of "
                        f"{binding.role_kind} {_q(binding.role_name)} to {subject.description}",
                    )
        return Decision(False, "")

    def policy_rules(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        """Every rule ``user`` holds in ``namespace`` and the errors met (missing roles)."""
        rules: list[PolicyRule] = []
        errors: list[str] = []
        for binding, _ in self.index.bindings_for(user.name, user.groups, namespace):
            found = self.index.role_rules(binding)
            if found is None:
                errors.append(
                    f"{binding.role_kind.lower()}s.rbac.authorization.k8s.io "
                    f"{_q(binding.role_name)} not found"
                )
                continue
            rules.extend(found)
        return rules, errors

    def rules_for(self, user: UserInfo, namespace: str) -> RuleSet:
        rules, errors = self.policy_rules(user, namespace)
        resource: dict[ResourceRule, None] = {}
        non_resource: dict[NonResourceRule, None] = {}
        for rule in rules:
            if rule.resources:
                resource.setdefault(
                    ResourceRule(rule.verbs, rule.api_groups, rule.resources, rule.resource_names)
                )
            if rule.non_resource_urls:
                non_resource.setdefault(NonResourceRule(rule.verbs, rule.non_resource_urls))
        return RuleSet(
            tuple(resource), tuple(non_resource), bool(errors), "; ".join(sorted(set(errors)))
        )


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

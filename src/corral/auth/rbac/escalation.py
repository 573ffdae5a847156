"""Escalation prevention: nobody grants through RBAC what they do not hold.

As kube-apiserver's RBAC storage does, creating or updating

- a Role or ClusterRole is allowed when the caller holds every rule it
  lists (in its namespace; cluster-wide for a ClusterRole) or may
  ``escalate`` that role; a ClusterRole with an ``aggregationRule`` (which
  can gather any rule) needs ``*`` on everything — "must have
  cluster-admin privileges to use the aggregationRule" — unless the caller
  may ``escalate`` (also to change a role that had one);
- a RoleBinding or ClusterRoleBinding is allowed when the caller may
  ``bind`` the referenced role (resourceNames honoured) or holds every rule
  of it (in the binding's namespace).

An update that changes only owner references or finalizers is not checked
(Kubernetes' ``IsOnlyMutatingGCFields``); any other update is checked as a
create. Members of ``system:masters`` and writes made outside a request
(start-up bootstrap) are not checked. `covers` is Kubernetes' ``validation.Covers``:
the requested rules are broken down into one-verb, one-resource rules and
each must be covered by one rule the caller holds.

`EscalationCheck` is an admission plugin (``corral.machinery.admission``):
the store calls it for every create and update, after validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from corral.auth.rbac.authorizer import RBACAuthorizer
from corral.auth.rbac.index import CLUSTER_ROLES, RBAC_GROUP, ROLES
from corral.auth.rbac.rules import STAR, PolicyRule, parse_rules
from corral.machinery.admission import Admitted, Attributes, Operation
from corral.machinery.authn import MASTERS_GROUP, UserInfo
from corral.machinery.authz import REQUEST_USER
from corral.machinery.authz import Attributes as AuthzAttributes
from corral.machinery.status import Forbidden, go_quote

FULL_AUTHORITY = (
    PolicyRule(verbs=(STAR,), api_groups=(STAR,), resources=(STAR,)),
    PolicyRule(verbs=(STAR,), non_resource_urls=(STAR,)),
)
_ROLE_KINDS = {"roles": "Role", "clusterroles": "ClusterRole"}
_BINDINGS = frozenset({"rolebindings", "clusterrolebindings"})


def breakdown(rule: PolicyRule) -> list[PolicyRule]:
    """``rule`` as single-verb, single-group, single-resource (and name) rules."""
    out: list[PolicyRule] = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                if rule.resource_names:
                    out.extend(
                        PolicyRule((verb,), (group,), (resource,), (name,))
                        for name in rule.resource_names
                    )
                else:
                    out.append(PolicyRule((verb,), (group,), (resource,)))
    for url in rule.non_resource_urls:
        for verb in rule.verbs:
            out.append(PolicyRule((verb,), non_resource_urls=(url,)))
    return out


def _has_all(owned: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    return all(w in owned for w in wanted)


def _resources_cover(owned: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    if STAR in owned or _has_all(owned, wanted):
        return True
    for path in wanted:
        if path in owned:
            continue
        if "/" not in path:
            return False
        if "*/" + path.split("/", 1)[1] not in owned:
            return False
    return True


def _url_covers(owned: tuple[str, ...], path: str) -> bool:
    return any(o == path or (o.endswith(STAR) and path.startswith(o.rstrip(STAR))) for o in owned)


def rule_covers(owner: PolicyRule, wanted: PolicyRule) -> bool:
    """True if ``owner`` grants everything the (broken-down) rule ``wanted`` does."""
    if wanted.resource_names:
        names = not owner.resource_names or _has_all(owner.resource_names, wanted.resource_names)
    else:
        names = not owner.resource_names
    return (
        (STAR in owner.verbs or _has_all(owner.verbs, wanted.verbs))
        and (STAR in owner.api_groups or _has_all(owner.api_groups, wanted.api_groups))
        and _resources_cover(owner.resources, wanted.resources)
        and all(_url_covers(owner.non_resource_urls, u) for u in wanted.non_resource_urls)
        and names
    )


def covers(owned: Iterable[PolicyRule], wanted: Iterable[PolicyRule]) -> list[PolicyRule]:
    """The parts of ``wanted`` that no rule of ``owned`` covers (empty: covered)."""
    owned = tuple(owned)
    missing = []
    for rule in wanted:
        for sub in breakdown(rule):
            if not any(rule_covers(o, sub) for o in owned):
                missing.append(sub)
    return missing


def _not_held(user: UserInfo, missing: list[PolicyRule], errors: list[str]) -> str:
    groups = "[" + " ".join(go_quote(g) for g in user.groups) + "]"
    lines = sorted({r.describe() for r in missing})
    msg = (
        f"user {go_quote(user.name)} (groups={groups}) is attempting to grant RBAC "
        "permissions not currently held:\n" + "\n".join(lines)
    )
    if errors:
        msg += f"; resolution errors: [{' '.join(errors)}]"
    return msg


class EscalationCheck:
    """Admission plugin refusing RBAC writes that would grant more than the caller holds."""

    def __init__(self, authorizer: RBACAuthorizer) -> None:
        self._authorizer = authorizer

    async def admit(self, attrs: Attributes) -> Admitted:
        if attrs.group != RBAC_GROUP or attrs.subresource or attrs.obj is None:
            return Admitted()
        if attrs.operation not in (Operation.CREATE, Operation.UPDATE):
            return Admitted()
        user = REQUEST_USER.get()
        if user is None or MASTERS_GROUP in user.groups:
            return Admitted()
        if attrs.resource in _ROLE_KINDS:
            self._check_role(user, attrs)
        elif attrs.resource in _BINDINGS:
            self._check_binding(user, attrs)
        return Admitted()

    async def released(self, attrs: Attributes) -> None:
        return None

    def _allowed(self, user: UserInfo, verb: str, resource: str, namespace: str, name: str) -> bool:
        attributes = AuthzAttributes(
            verb=verb, group=RBAC_GROUP, resource=resource, namespace=namespace, name=name
        )
        return self._authorizer.authorize(user, attributes).allowed

    def _forbid(self, attrs: Attributes, detail: str) -> Forbidden:
        return Forbidden(attrs.resource, attrs.name, detail, group=RBAC_GROUP)

    def _check_role(self, user: UserInfo, attrs: Attributes) -> None:
        obj = attrs.obj or {}
        old = attrs.old or {}
        if attrs.operation is Operation.UPDATE and _only_gc_fields(obj, old):
            return
        if self._allowed(user, "escalate", attrs.resource, attrs.namespace, attrs.name):
            return
        owned, errors = self._authorizer.policy_rules(user, attrs.namespace)
        missing = covers(owned, parse_rules(obj.get("rules")))
        if missing:
            raise self._forbid(attrs, _not_held(user, missing, errors))
        aggregated = attrs.resource == CLUSTER_ROLES and (
            obj.get("aggregationRule") is not None or old.get("aggregationRule") is not None
        )
        if aggregated and covers(owned, FULL_AUTHORITY):
            raise self._forbid(
                attrs, "must have cluster-admin privileges to use the aggregationRule"
            )

    def _check_binding(self, user: UserInfo, attrs: Attributes) -> None:
        obj = attrs.obj or {}
        old = attrs.old or {}
        if attrs.operation is Operation.UPDATE and _only_gc_fields(obj, old):
            return
        ref = obj.get("roleRef")
        ref = ref if isinstance(ref, Mapping) else {}
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        role_resource = ROLES if kind == "Role" else CLUSTER_ROLES
        if self._allowed(user, "bind", role_resource, attrs.namespace, name):
            return
        rules = self._authorizer.index.role_rules_by_ref(kind, attrs.namespace, name)
        if rules is None:
            raise self._forbid(attrs, f"{role_resource}.{RBAC_GROUP} {go_quote(name)} not found")
        owned, errors = self._authorizer.policy_rules(user, attrs.namespace)
        missing = covers(owned, rules)
        if missing:
            raise self._forbid(attrs, _not_held(user, missing, errors))


#: Metadata a write may change without an escalation check (Kubernetes'
#: ``IsOnlyMutatingGCFields``: owner references and finalizers), plus what
#: the server itself keeps.
_GC_AND_SERVER_FIELDS = frozenset(
    {
        "ownerReferences",
        "finalizers",
        "resourceVersion",
        "managedFields",
        "generation",
        "creationTimestamp",
        "uid",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)


def _only_gc_fields(obj: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """True if the update changes nothing but owner references and finalizers."""

    def essence(o: Mapping[str, Any]) -> dict[str, Any]:
        meta = o.get("metadata") or {}
        kept = {k: v for k, v in meta.items() if k not in _GC_AND_SERVER_FIELDS}
        return {**{k: v for k, v in o.items() if k != "metadata"}, "metadata": kept}

    return essence(obj) == essence(old)

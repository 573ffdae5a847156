"""The RBAC policy in memory, indexed for one lookup per request.

`PolicyIndex` holds every Role, ClusterRole, RoleBinding and
ClusterRoleBinding the server stores, fed one change at a time (`apply`,
`remove`) by whoever follows the API server's watch caches. It decides
nothing itself; it answers "which bindings name this user or one of these
groups" from an index by subject — ``User`` names (ServiceAccount subjects
become their ``system:serviceaccount:<ns>:<name>`` user) and ``Group``
names — and "what are the rules of this role" by name, so a request costs
a few dictionary lookups however many bindings exist.

ClusterRole aggregation lives here too, as the clusterrole-aggregation
controller computes it: a ClusterRole with an ``aggregationRule`` has the
rules of every other ClusterRole whose labels match one of its
``clusterRoleSelectors`` (in name order, duplicates dropped; a matching
role that is itself aggregated contributes its aggregated rules, so
``view`` flows into ``edit`` and on into ``admin``). The effective rules
are recomputed lazily after any ClusterRole changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from corral.auth.rbac.rules import PolicyRule, parse_rules
from corral.machinery.labels import Selector, SelectorError, from_label_selector

ROLES, CLUSTER_ROLES = "roles", "clusterroles"
ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS = "rolebindings", "clusterrolebindings"
RBAC_RESOURCES = (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS)
RBAC_GROUP = "rbac.authorization.k8s.io"

SA_PREFIX = "system:serviceaccount:"


def service_account_user(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


@dataclass(frozen=True, slots=True)
class Subject:
    """A binding's subject, keyed the way requests are looked up."""

    #: ``("User", name)`` or ``("Group", name)``; a ServiceAccount is its user.
    key: tuple[str, str]
    #: How Kubernetes names it in a reason: ``User "alice"``, ``ServiceAccount "sa/ns"``.
    description: str


@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding (``namespace`` set) or a ClusterRoleBinding."""

    namespace: str
    name: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]

    @property
    def kind(self) -> str:
        return "RoleBinding" if self.namespace else "ClusterRoleBinding"

    @property
    def label(self) -> str:
        return f"{self.name}/{self.namespace}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class _ClusterRole:
    labels: Mapping[str, str]
    rules: tuple[PolicyRule, ...]
    selectors: tuple[Selector, ...] | None  # None: not aggregated


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_subject(raw: Any, binding_namespace: str) -> Subject | None:
    if not isinstance(raw, Mapping):
        return None
    kind, name = raw.get("kind"), raw.get("name")
    if not isinstance(kind, str) or not isinstance(name, str) or not name:
        return None
    if kind == "ServiceAccount":
        ns = raw.get("namespace") or binding_namespace
        if not isinstance(ns, str) or not ns:
            return None
        return Subject(
            ("User", service_account_user(ns, name)), f"ServiceAccount {_quote(name + '/' + ns)}"
        )
    if kind in ("User", "Group"):
        return Subject((kind, name), f"{kind} {_quote(name)}")
    return None


def parse_binding(obj: Mapping[str, Any]) -> Binding | None:
    meta = obj.get("metadata") or {}
    ref = obj.get("roleRef") or {}
    if not isinstance(meta, Mapping) or not isinstance(ref, Mapping):
        return None
    namespace = str(meta.get("namespace") or "")
    subjects = tuple(
        s for s in (parse_subject(r, namespace) for r in obj.get("subjects") or []) if s
    )
    return Binding(
        namespace,
        str(meta.get("name") or ""),
        str(ref.get("kind") or ""),
        str(ref.get("name") or ""),
        subjects,
    )


def aggregation_selectors(obj: Mapping[str, Any]) -> tuple[Selector, ...] | None:
    """A ClusterRole's ``aggregationRule`` selectors (unparseable ones skipped);
    None when it is not aggregated."""
    rule = obj.get("aggregationRule")
    if not isinstance(rule, Mapping):
        return None
    out = []
    for raw in rule.get("clusterRoleSelectors") or []:
        try:
            out.append(from_label_selector(raw))
        except SelectorError:
            continue
    return tuple(out)


class PolicyIndex:
    """Every RBAC object, indexed by subject (bindings) and by name (roles)."""

    def __init__(self) -> None:
        self._roles: dict[tuple[str, str], tuple[PolicyRule, ...]] = {}
        self._cluster_roles: dict[str, _ClusterRole] = {}
        self._bindings: dict[tuple[str, str], Binding] = {}
        self._by_subject: dict[tuple[str, str], dict[tuple[str, str], Binding]] = {}
        self._aggregated: dict[str, tuple[PolicyRule, ...]] | None = None

    # -- feeding ---------------------------------------------------------

    def apply(self, resource: str, obj: Mapping[str, Any]) -> None:
        """``obj`` (of ``resource``: roles, clusterroles…) was created or changed."""
        meta = obj.get("metadata") or {}
        if not isinstance(meta, Mapping):
            return
        name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
        if resource == ROLES:
            self._roles[(namespace, name)] = parse_rules(obj.get("rules"))
        elif resource == CLUSTER_ROLES:
            labels = meta.get("labels") or {}
            self._cluster_roles[name] = _ClusterRole(
                dict(labels) if isinstance(labels, Mapping) else {},
                parse_rules(obj.get("rules")),
                aggregation_selectors(obj),
            )
            self._aggregated = None
        elif resource in (ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS):
            binding = parse_binding(obj)
            if binding is not None:
                self._drop_binding((binding.namespace, binding.name))
                self._bindings[(binding.namespace, binding.name)] = binding
                for subject in binding.subjects:
                    by_key = self._by_subject.setdefault(subject.key, {})
                    by_key[(binding.namespace, binding.name)] = binding

    def remove(self, resource: str, namespace: str, name: str) -> None:
        """The object ``namespace``/``name`` of ``resource`` was deleted."""
        if resource == ROLES:
            self._roles.pop((namespace, name), None)
        elif resource == CLUSTER_ROLES:
            self._cluster_roles.pop(name, None)
            self._aggregated = None
        elif resource in (ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS):
            self._drop_binding((namespace, name))

    def clear(self) -> None:
        """Forget everything (the feed re-lists)."""
        self.__init__()  # type: ignore[misc]

    def _drop_binding(self, key: tuple[str, str]) -> None:
        old = self._bindings.pop(key, None)
        if old is None:
            return
        for subject in old.subjects:
            by_key = self._by_subject.get(subject.key)
            if by_key is not None:
                by_key.pop(key, None)
                if not by_key:
                    del self._by_subject[subject.key]

    # -- reading ---------------------------------------------------------

    def bindings_for(
        self, user: str, groups: tuple[str, ...], namespace: str
    ) -> Iterator[tuple[Binding, Subject]]:
        """Bindings naming ``user`` or a group: ClusterRoleBindings first, then
        RoleBindings of ``namespace`` (none when it is empty)."""
        keys = [("User", user), *(("Group", g) for g in groups)]
        found = [(k, self._by_subject.get(k)) for k in keys]
        for key, by_key in found:
            if by_key:
                for binding in by_key.values():
                    if not binding.namespace:
                        yield binding, _subject(binding, key)
        if not namespace:
            return
        for key, by_key in found:
            if by_key:
                for binding in by_key.values():
                    if binding.namespace == namespace:
                        yield binding, _subject(binding, key)

    def role_rules(self, binding: Binding) -> tuple[PolicyRule, ...] | None:
        """The rules of the role ``binding`` refers to; None if it does not exist."""
        if binding.role_kind == "ClusterRole":
            return self.cluster_role_rules(binding.role_name)
        if binding.role_kind == "Role" and binding.namespace:
            return self._roles.get((binding.namespace, binding.role_name))
        return None

    def cluster_role_rules(self, name: str) -> tuple[PolicyRule, ...] | None:
        return self._effective(name, frozenset())

    def _effective(self, name: str, visiting: frozenset[str]) -> tuple[PolicyRule, ...] | None:
        role = self._cluster_roles.get(name)
        if role is None:
            return None
        if role.selectors is None:
            return role.rules
        if self._aggregated is None:
            self._aggregated = {}
        rules = self._aggregated.get(name)
        if rules is None:
            rules = self._aggregate(name, role.selectors, visiting | {name})
            self._aggregated[name] = rules
        return rules

    def role_rules_by_ref(
        self, kind: str, namespace: str, name: str
    ) -> tuple[PolicyRule, ...] | None:
        if kind == "ClusterRole":
            return self.cluster_role_rules(name)
        if kind == "Role":
            return self._roles.get((namespace, name))
        return None

    def _aggregate(
        self, name: str, selectors: tuple[Selector, ...], visiting: frozenset[str]
    ) -> tuple[PolicyRule, ...]:
        """The rules of every matching ClusterRole (their own aggregated rules
        included, as the controller writes them into each role); cycles stop."""
        out: dict[PolicyRule, None] = {}
        for other in sorted(self._cluster_roles):
            if other in visiting:
                continue
            if any(s.matches(self._cluster_roles[other].labels) for s in selectors):
                for rule in self._effective(other, visiting) or ():
                    out.setdefault(rule, None)
        return tuple(out)

    @property
    def binding_count(self) -> int:
        return len(self._bindings)


def _subject(binding: Binding, key: tuple[str, str]) -> Subject:
    for subject in binding.subjects:
        if subject.key == key:
            return subject
    return binding.subjects[0]

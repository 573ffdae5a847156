"""A PolicyRule and whether it matches a request: Kubernetes' ``RuleAllows``.

`PolicyRule` is ``rbac.authorization.k8s.io/v1`` PolicyRule as an immutable
value, parsed once per stored role (`parse_rules`). `rule_allows` decides a
request with the same matching rules as kube-apiserver's RBAC authorizer:

- verbs and apiGroups: ``*`` or an exact entry;
- resources: ``*``, the exact ``resource`` or ``resource/subresource``
  (``pods/log``), or ``*/<subresource>`` (``*/scale``) for any resource's
  subresource;
- resourceNames: empty means every name, else the request's name must be
  listed (a list or create, which has no name, never matches a named rule);
- nonResourceURLs: ``*``, the exact path, or a prefix ending in ``*``
  (``/apis/*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from corral.machinery.authz import Attributes
from corral.machinery.status import go_quote

STAR = "*"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One rule of a Role or ClusterRole."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The rule as the API serves it (empty lists left out)."""
        out: dict[str, Any] = {"verbs": list(self.verbs)}
        if self.api_groups:
            out["apiGroups"] = list(self.api_groups)
        if self.resources:
            out["resources"] = list(self.resources)
        if self.resource_names:
            out["resourceNames"] = list(self.resource_names)
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        return out

    def describe(self) -> str:
        """Go's ``CompactString`` of the rule, as escalation errors print it."""
        parts = []
        for label, values in (
            ("APIGroups", self.api_groups),
            ("Resources", self.resources),
            ("NonResourceURLs", self.non_resource_urls),
            ("ResourceNames", self.resource_names),
            ("Verbs", self.verbs),
        ):
            if values:
                parts.append(f"{label}:[" + " ".join(go_quote(v) for v in values) + "]")
        return "{" + ", ".join(parts) + "}"


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def parse_rule(raw: Mapping[str, Any]) -> PolicyRule:
    return PolicyRule(
        verbs=_strings(raw.get("verbs")),
        api_groups=_strings(raw.get("apiGroups")),
        resources=_strings(raw.get("resources")),
        resource_names=_strings(raw.get("resourceNames")),
        non_resource_urls=_strings(raw.get("nonResourceURLs")),
    )


def parse_rules(raw: Any) -> tuple[PolicyRule, ...]:
    """The ``rules`` of a stored role (entries that are not objects are skipped)."""
    if not isinstance(raw, list):
        return ()
    return tuple(parse_rule(r) for r in raw if isinstance(r, Mapping))


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    return any(v in (STAR, verb) for v in rule.verbs)


def group_matches(rule: PolicyRule, group: str) -> bool:
    return any(g in (STAR, group) for g in rule.api_groups)


def resource_matches(rule: PolicyRule, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.resources:
        if r in (STAR, combined):
            return True
        if subresource and r == "*/" + subresource:
            return True
    return False


def name_matches(rule: PolicyRule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def url_matches(rule: PolicyRule, path: str) -> bool:
    for u in rule.non_resource_urls:
        if u in (STAR, path):
            return True
        if u.endswith(STAR) and path.startswith(u.rstrip(STAR)):
            return True
    return False


def rule_allows(rule: PolicyRule, attrs: Attributes) -> bool:
    """True if ``rule`` allows the request ``attrs`` (Kubernetes' ``RuleAllows``)."""
    if not verb_matches(rule, attrs.verb):
        return False
    if attrs.resource_request:
        return (
            group_matches(rule, attrs.group)
            and resource_matches(rule, attrs.resource, attrs.subresource)
            and name_matches(rule, attrs.name)
        )
    return url_matches(rule, attrs.path)


def rules_allow(rules: Iterable[PolicyRule], attrs: Attributes) -> bool:
    return any(rule_allows(r, attrs) for r in rules)

"""Defaults for the small kinds: RBAC bindings and NetworkPolicies.

Decides (``pkg/apis/rbac/v1/defaults.go``, ``pkg/apis/networking/v1/defaults.go``):
a binding's ``roleRef.apiGroup`` is ``rbac.authorization.k8s.io``; a User or
Group subject's apiGroup is that group (a ServiceAccount's stays empty); a
NetworkPolicy without ``policyTypes`` gets ``[Ingress]``, plus ``Egress`` when
it has egress rules, and every policy port's protocol is TCP unless given.
Ingresses, PodDisruptionBudgets, ConfigMaps and ServiceAccounts have no
defaults.
"""

from __future__ import annotations

from corral.machinery.validation.common import Obj, child, items, mapping

RBAC_GROUP = "rbac.authorization.k8s.io"


def default_binding(obj: Obj) -> None:
    role_ref = child(obj, "roleRef")
    if not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = RBAC_GROUP
    for subject in items(obj.get("subjects")):
        user_or_group = mapping(subject).get("kind") in ("User", "Group")
        if user_or_group and isinstance(subject, dict) and not subject.get("apiGroup"):
            subject["apiGroup"] = RBAC_GROUP


def default_network_policy(obj: Obj) -> None:
    spec = child(obj, "spec")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"]
        if items(spec.get("egress")):
            spec["policyTypes"].append("Egress")
    for direction in ("ingress", "egress"):
        for rule in items(spec.get(direction)):
            for port in items(mapping(rule).get("ports")):
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")

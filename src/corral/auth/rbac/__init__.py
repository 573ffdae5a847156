"""Kubernetes RBAC for Corral: the authorizer, escalation checks, the default policy.

- `PolicyIndex` (`index`): every Role, ClusterRole and binding in memory,
  bindings indexed by subject, ClusterRole aggregation computed here; the
  API server's watch caches feed it.
- `RBACAuthorizer` (`authorizer`): ``corral.machinery.authz.Authorizer`` and
  ``RulesLister`` over the index, with Kubernetes' matching (`rules`) and
  reasons.
- `EscalationCheck` (`escalation`): the admission plugin refusing Roles and
  bindings that grant what the caller does not hold.
- `default_policy` / `reconcile` (`bootstrap`): the bootstrap ClusterRoles
  and bindings, Corral's components included.

Refusals are ``corral.machinery.status`` errors (403 Forbidden); the package
has no error tree of its own.
"""

from __future__ import annotations

from corral.auth.rbac.authorizer import RBACAuthorizer
from corral.auth.rbac.bootstrap import (
    CLUSTER_HEALTH_USER,
    CONTROLLER_MANAGER_USER,
    MANAGEMENT_USER,
    NODES_GROUP,
    default_policy,
    reconcile,
)
from corral.auth.rbac.escalation import EscalationCheck, covers
from corral.auth.rbac.index import RBAC_GROUP, RBAC_RESOURCES, PolicyIndex
from corral.auth.rbac.rules import PolicyRule, rule_allows

__all__ = [
    "CLUSTER_HEALTH_USER",
    "CONTROLLER_MANAGER_USER",
    "MANAGEMENT_USER",
    "NODES_GROUP",
    "RBAC_GROUP",
    "RBAC_RESOURCES",
    "EscalationCheck",
    "PolicyIndex",
    "PolicyRule",
    "RBACAuthorizer",
    "covers",
    "default_policy",
    "reconcile",
    "rule_allows",
]

"""Who may use a cluster before Corral has its own rule: global administrators.

The management layer decides per cluster (its creator, role templates);
until that rule is wired in, the proxy lets through exactly those Corral's
RBAC makes global administrators of clusters — those who may ``update``
``clusters.management.corral.io`` — and nobody else.
"""

from __future__ import annotations

from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Authorizer
from corral.proxy.handler import MayUse

_MANAGE_CLUSTERS = Attributes(verb="update", group="management.corral.io", resource="clusters")


def cluster_admins_may_use(authorizer: Authorizer) -> MayUse:
    """``may_use`` that allows the users Corral's RBAC lets update every cluster."""

    async def may_use(user: UserInfo, cluster: str) -> bool:
        return authorizer.authorize(user, _MANAGE_CLUSTERS).allowed

    return may_use

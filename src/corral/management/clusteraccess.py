"""Who may use a cluster, until role templates exist (issue 9 part 6, Contract 3).

A user may use a cluster (reach it through the proxy, get a kubeconfig for
it) when either:

- they are a global admin for clusters: RBAC allows them verb ``update`` on
  ``clusters.management.corral.io`` (the object itself, so ``resourceNames``
  grants count) — what ``cluster-admin`` gives, and what the downstream
  ``cluster-admin`` binding of global admins mirrors; or
- they created it: the ``corral.io/creator-id`` annotation (set by the
  server from the authenticated user, never from the request body) names
  them.

Everyone else may not; the proxy refuses them before anything leaves.
`ClusterUsers` binds the rule to the server's authorizer and reads clusters
from the watch cache, for callers that only have a cluster id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.apiserver.authorizer import authorizer_of
from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.objectreader import CachedObjects
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Authorizer
from corral.management.clusterkinds import CREATOR_ANNOTATION
from corral.management.kinds import GROUP, VERSION


def is_cluster_admin(authorizer: Authorizer, user: UserInfo, cluster_id: str = "") -> bool:
    """True when RBAC lets ``user`` update (the cluster ``cluster_id``, or any) Cluster."""
    attrs = Attributes("update", group=GROUP, version=VERSION, resource="clusters", name=cluster_id)
    return authorizer.authorize(user, attrs).allowed


def creator_of(cluster: Mapping[str, Any]) -> str:
    annotations = (cluster.get("metadata") or {}).get("annotations") or {}
    creator = annotations.get(CREATOR_ANNOTATION) if isinstance(annotations, Mapping) else None
    return creator if isinstance(creator, str) else ""


def may_use_cluster(authorizer: Authorizer, user: UserInfo, cluster: Mapping[str, Any]) -> bool:
    """Whether ``user`` may use ``cluster`` (global admin for clusters, or its creator)."""
    name = (cluster.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        return False
    creator = creator_of(cluster)
    if creator and creator == user.name:
        return True
    return is_cluster_admin(authorizer, user, name)


class ClusterUsers:
    """`may_use_cluster` with the server's authorizer, by object or by cluster id."""

    def __init__(self, parts: ServerParts) -> None:
        self._parts = parts
        self._clusters = CachedObjects(parts, GROUP, VERSION)

    @property
    def authorizer(self) -> Authorizer:
        return authorizer_of(self._parts)

    def may_use_cluster(self, user: UserInfo, cluster: Mapping[str, Any]) -> bool:
        """Contract 3's ``may_use_cluster(user, cluster)``."""
        return may_use_cluster(self.authorizer, user, cluster)

    async def cluster(self, cluster_id: str) -> Mapping[str, Any] | None:
        return await self._clusters.current("clusters", "", cluster_id)

    async def may_use(self, user: UserInfo, cluster_id: str) -> bool:
        """The proxy's question (Contract 5): may ``user`` use the cluster ``cluster_id``?

        False for a cluster that does not exist (the caller answers 404 or 403 alike).
        """
        cluster = await self.cluster(cluster_id)
        return cluster is not None and self.may_use_cluster(user, cluster)

"""A management API in-process with RBAC, Users and Clusters, for the cluster-health tests.

`health_api` builds the Kubernetes API on a memory backend with the real
RBAC authorizer (`install_rbac`, the bootstrap policy included), installs the
User kind and the cluster kinds (`ensure_cluster_kinds`), and hands back
a `HealthAPI`: an admin client (``system:masters``) for the test's own
writes, the client the health controllers act with
(``system:corral-cluster-health``, least privilege as in the server), and
the authorizer. Helpers make Users, Clusters and set ``Connected``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from corral.apiserver import (
    APIServerApp,
    HealthChecks,
    HTTPMetrics,
    KubeAPIServer,
    LoopbackAuthenticator,
    LoopbackTransport,
    build_kube_api,
)
from corral.auth import BootstrapTokenAuthenticator
from corral.auth.rbac import CLUSTER_HEALTH_USER, RBACAuthorizer
from corral.cli.authorization import install_rbac
from corral.client import Client
from corral.controller import set_condition
from corral.machinery.authn import MASTERS_GROUP, UnionAuthenticator
from corral.machinery.status import Conflict
from corral.management.clusterhealth.kinds import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTERS,
    CREATOR_ANNOTATION,
    USERS,
)
from corral.management.clusterkinds import ensure_cluster_kinds
from corral.management.kinds import NAMESPACES, ensure_kinds
from corral.storage import MemoryBackend

ADMIN_TOKEN = "in-process-admin-token"


@dataclass
class HealthAPI:
    app: APIServerApp
    kube: KubeAPIServer
    admin: Client
    controllers: Client
    authorizer: RBACAuthorizer

    async def create_user(self, name: str, *, global_admin: bool = False) -> None:
        user = {"apiVersion": "management.corral.io/v1", "kind": "User"}
        await self.admin.create(USERS, {**user, "metadata": {"name": name}, "username": name})
        if global_admin:
            await self.admin.create(
                CLUSTER_ROLE_BINDINGS,
                {
                    "metadata": {"name": f"global-admin-{name}"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "cluster-admin",
                    },
                    "subjects": [
                        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}
                    ],
                },
            )

    async def create_cluster(self, name: str, creator: str) -> dict[str, Any]:
        body = {
            "apiVersion": "management.corral.io/v1",
            "kind": "Cluster",
            "metadata": {"name": name, "annotations": {CREATOR_ANNOTATION: creator}},
            "spec": {"displayName": name},
        }
        cluster = await self.admin.create(CLUSTERS, body)
        await self.admin.create(NAMESPACES, {"metadata": {"name": name}})
        return cluster

    async def set_connected(self, name: str, connected: bool) -> None:
        """Set ``Connected`` as the agent's connection handler would (retrying conflicts)."""
        for _ in range(20):
            cluster = await self.admin.get(CLUSTERS, name)
            reason = "AgentConnected" if connected else "AgentDisconnected"
            set_condition(cluster, "Connected", connected, reason)
            agent = cluster["status"].setdefault("agent", {})
            agent["connected"] = connected
            stamp = "lastConnected" if connected else "lastDisconnected"
            agent[stamp] = datetime.now(UTC).isoformat(timespec="microseconds")
            try:
                await self.admin.update(CLUSTERS, cluster, subresource="status")
                return
            except Conflict:
                continue
        raise AssertionError(f"cluster {name}: Connected not written (conflicts)")

    async def cluster(self, name: str) -> dict[str, Any]:
        return await self.admin.get(CLUSTERS, name)


@contextlib.asynccontextmanager
async def health_api() -> AsyncIterator[HealthAPI]:
    backend = MemoryBackend()
    await backend.start()
    health = HealthChecks()
    kube = await build_kube_api(backend, health)
    async with asyncio.timeout(10):
        while kube.caches.unsynced():  # noqa: ASYNC110 (polling with a deadline)
            await asyncio.sleep(0.01)
    authorizer = await install_rbac(kube, health)
    loopback = LoopbackAuthenticator()
    bootstrap = BootstrapTokenAuthenticator(hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest())
    app = APIServerApp(
        authenticator=UnionAuthenticator(bootstrap, loopback),
        authorizer=authorizer,
        health=health,
        metrics=HTTPMetrics(),
        api=kube.api,
    )
    admin = Client(LoopbackTransport(app, loopback.issue("system:test", (MASTERS_GROUP,))))
    controllers = Client(LoopbackTransport(app, loopback.issue(CLUSTER_HEALTH_USER)))
    await ensure_kinds(admin)
    await ensure_cluster_kinds(admin)
    try:
        yield HealthAPI(app, kube, admin, controllers, authorizer)
    finally:
        await admin.close()
        await controllers.close()
        await kube.stop()
        await backend.close()

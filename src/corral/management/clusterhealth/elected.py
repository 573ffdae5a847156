"""`ElectedClusterHealth`: the health controllers, run by one replica at a time.

Several management replicas share one datastore; two health controllers
would double every probe and fight over every status write. Like the
controller manager, this contends for a Lease (``kube-system/
corral-cluster-health``) and runs `ClusterHealth` only while holding it;
losing the lease or stopping the server stops every cluster's watch.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from contextlib import suppress

from corral.client import Client
from corral.client.dialing import AccessSource
from corral.controller import LeaderElector
from corral.machinery.authz import Authorizer
from corral.management.clusterhealth.manager import ClusterHealth
from corral.management.clusterhealth.options import HealthOptions

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "corral-cluster-health"


class ElectedClusterHealth:
    """Runs `ClusterHealth` while this process holds the cluster-health Lease."""

    def __init__(
        self,
        client: Client,
        access: AccessSource,
        authorizer: Authorizer,
        *,
        options: HealthOptions | None = None,
        lease: tuple[float, float, float] = (15.0, 10.0, 2.0),
        identity: str = "",
    ) -> None:
        self.client = client
        self.access = access
        self.authorizer = authorizer
        self.options = options or HealthOptions()
        duration, renew, retry = lease
        self.elector = LeaderElector(
            client,
            LEASE_NAMESPACE,
            LEASE_NAME,
            identity or f"{socket.gethostname()}_{uuid.uuid4()}",
            lease_duration=duration,
            renew_deadline=renew,
            retry_period=retry,
        )
        self.health: ClusterHealth | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.elector.run(self._lead), name="cluster-health")

    async def stop(self) -> None:
        await self.elector.stop()
        if self._task is not None:
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _lead(self) -> None:
        self.health = ClusterHealth(self.client, self.access, self.authorizer, self.options)
        try:
            await self.health.run()
        finally:
            self.health = None

"""Clusters, assembled: what start-up wires into the server when management is on.

`ClusterService` is built with the HTTPS app (it adds the cluster
admission plugin to the API's chain and gives the ``/v3`` routes) and
started after it, through the management component's in-process client:

- `start`: installs the Cluster, ClusterRegistrationToken and Setting
  kinds, writes the ``cacerts``/``agent-image`` (and, when given,
  ``server-url``) Settings and starts the registration-token index — on
  every replica, since any replica may serve an import or an agent;
- `start_controllers`: the cluster controller, under the
  ``kube-system/corral-management`` lease (one replica leads);
- `users` (who may use a cluster) and `registration` (which cluster a
  token registers) are what the proxy and the agent endpoints are given.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.pipeline import Route
from corral.client import Client
from corral.machinery.admission import AdmissionChain
from corral.management.clusteraccess import ClusterUsers
from corral.management.clusteradmission import ClusterAdmission
from corral.management.clustercontroller import ManagementControllers
from corral.management.clusterendpoints import ClusterEndpoints
from corral.management.clusterkinds import ensure_cluster_kinds
from corral.management.registrationtokens import RegistrationTokens
from corral.management.serversettings import ensure_settings
from corral.management.tokens import Tokens


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """The cluster settings of the server."""

    ca_pem: bytes
    #: ``--server-url`` (None: keep the stored setting).
    server_url: str | None = None
    #: Leader election of the management controllers: duration, renew deadline, retry.
    lease_timings: tuple[float, float, float] = (15.0, 10.0, 2.0)


class ClusterService:
    """Cluster kinds, settings, endpoints and controllers of one server."""

    def __init__(self, parts: ServerParts, options: ClusterOptions) -> None:
        self._options = options
        check = ClusterAdmission(parts)
        parts.admission = (
            check if parts.admission is None else AdmissionChain(parts.admission, check)
        )
        self.users = ClusterUsers(parts)
        self.endpoints = ClusterEndpoints(parts, self.users, options.ca_pem)
        self.registration: RegistrationTokens | None = None
        self._controllers: ManagementControllers | None = None
        self._client: Client | None = None

    @property
    def routes(self) -> list[Route]:
        return self.endpoints.routes()

    async def start(self, client: Client, tokens: Tokens | None) -> None:
        """Install the kinds and settings; serve the endpoints."""
        await ensure_cluster_kinds(client)
        await ensure_settings(
            client, server_url=self._options.server_url, ca_pem=self._options.ca_pem
        )
        self._client = client
        self.registration = RegistrationTokens(client)
        self.registration.start()
        self.endpoints.bind(tokens, self.registration)

    def start_controllers(self) -> None:
        if self._client is None or self._controllers is not None:
            return
        identity = f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._controllers = ManagementControllers(
            self._client, identity, self._options.lease_timings
        )
        self._controllers.start()

    async def stop(self) -> None:
        if self._controllers is not None:
            await self._controllers.stop()
            self._controllers = None
        if self.registration is not None:
            await self.registration.stop()

"""The cluster controller: what every Cluster has, kept in step (issue 9 part 1).

For each Cluster (runs on the elected management leader only):

- the finalizer ``management.corral.io/cluster-cleanup``: when the Cluster
  is deleted, its registration tokens, the agent's credentials Secret
  (``cluster-agent``) and its namespace are deleted, then it goes;
- its namespace (named after the id), labelled ``corral.io/cluster-id``;
- for an imported cluster, the ``default-token`` ClusterRegistrationToken
  in that namespace, with ``status.token`` made once and the import
  commands (`corral.management.registration`) in ``status`` — on the token
  and in the Cluster's ``status.registration`` — rewritten whenever the
  ``server-url`` or ``cacerts`` Setting changes (a change of either queues
  every Cluster);
- a first ``status``: ``pending`` with ``Connected`` False
  ``NeverConnected`` for an imported cluster (the agent's side moves it on
  and this controller never overwrites what it wrote), ``active`` with
  ``Connected`` True ``Local`` and ``Ready`` True for ``local``.

The ``local`` Cluster (displayName ``local``, ``internal: true``) is made
when the controller starts and made again if someone deletes it (its
namespace is kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any, Final

from corral.client import Client, ResourceRef
from corral.controller import Controller, Informer, LeaderElector, get_condition, set_condition
from corral.machinery.status import AlreadyExists, Conflict, NotFound
from corral.management.clusterkinds import (
    AGENT_SECRET,
    CLUSTER_REGISTRATION_TOKENS,
    CLUSTERS,
    DEFAULT_TOKEN,
    LOCAL_CLUSTER,
    SETTINGS,
    setting_value,
)
from corral.management.kinds import GROUP, NAMESPACES, SECRETS
from corral.management.registration import registration_commands
from corral.management.registrationtokens import new_registration_token
from corral.management.serversettings import CACERTS, SERVER_URL, ca_checksum

log = logging.getLogger("corral.management")

FINALIZER: Final = "management.corral.io/cluster-cleanup"
CLUSTER_ID_LABEL: Final = "corral.io/cluster-id"
LEASE_NAME: Final = "corral-management"
LEASE_NAMESPACE: Final = "kube-system"
RESYNC_SECONDS: Final = 300.0

Obj = dict[str, Any]


def local_cluster_body() -> Obj:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Cluster",
        "metadata": {"name": LOCAL_CLUSTER},
        "spec": {
            "displayName": LOCAL_CLUSTER,
            "description": "the Corral server itself",
            "internal": True,
        },
    }


class ClusterController:
    """Namespaces, tokens, registration commands and cleanup of Clusters."""

    def __init__(self, client: Client) -> None:
        self.client = client
        # Resync: a namespace or token deleted by hand comes back within RESYNC_SECONDS.
        self.clusters = Informer(client, CLUSTERS, resync=RESYNC_SECONDS)
        self.settings = Informer(client, SETTINGS)
        self.controller = Controller("management-clusters", self.clusters, workers=2)
        self.controller.on_change("cluster", self._sync)
        self.controller.on_remove("cleanup", self._cleanup, finalizer=FINALIZER)
        self.settings.on_add(self._setting_changed)
        self.settings.on_update(lambda old, new: self._setting_changed(new, old))

    async def run(self) -> None:
        """Run until cancelled: informers, the local cluster, the workers."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.clusters.run())
            group.create_task(self.settings.run())
            await self.settings.wait_for_sync()
            await self.clusters.wait_for_sync()
            await self._ensure_local()
            group.create_task(self.controller.run())

    async def stop(self) -> None:
        await self.controller.stop()
        await self.clusters.stop()
        await self.settings.stop()

    # -- settings ------------------------------------------------------------------

    def _setting(self, name: str) -> str:
        return setting_value(self.settings.indexer.get(name))

    def _setting_changed(self, new: Obj, old: Obj | None = None) -> None:
        name = (new.get("metadata") or {}).get("name")
        if name not in (SERVER_URL, CACERTS):
            return
        if old is not None and setting_value(old) == setting_value(new):
            return
        for key in self.clusters.indexer.list_keys():
            self.controller.queue.add(key)

    # -- local ---------------------------------------------------------------------

    async def _ensure_local(self) -> None:
        with contextlib.suppress(AlreadyExists):
            await self.client.create(CLUSTERS, local_cluster_body())

    # -- reconcile -----------------------------------------------------------------

    async def _sync(self, key: str, obj: Obj | None) -> None:
        if obj is None:
            if key == LOCAL_CLUSTER:
                await self._ensure_local()
            return
        if (obj.get("metadata") or {}).get("deletionTimestamp"):
            return
        name = obj["metadata"]["name"]
        await self._ensure_namespace(name)
        registration: dict[str, str] = {}
        if name != LOCAL_CLUSTER:
            registration = await self._ensure_token(name)
        await self._write_status(name, registration)

    async def _ensure_namespace(self, name: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {CLUSTER_ID_LABEL: name}},
        }
        with contextlib.suppress(AlreadyExists):
            await self.client.create(NAMESPACES, body)

    async def _ensure_token(self, cluster: str) -> dict[str, str]:
        try:
            token = await self.client.get(
                CLUSTER_REGISTRATION_TOKENS, DEFAULT_TOKEN, namespace=cluster
            )
        except NotFound:
            body = {
                "apiVersion": f"{GROUP}/v1",
                "kind": "ClusterRegistrationToken",
                "metadata": {"name": DEFAULT_TOKEN, "namespace": cluster},
                "spec": {"clusterName": cluster},
            }
            try:
                token = await self.client.create(CLUSTER_REGISTRATION_TOKENS, body)
            except AlreadyExists:
                token = await self.client.get(
                    CLUSTER_REGISTRATION_TOKENS, DEFAULT_TOKEN, namespace=cluster
                )
        status = dict(token.get("status") or {})
        secret = status.get("token") or new_registration_token()
        commands = registration_commands(
            self._setting(SERVER_URL), secret, cluster, ca_checksum(self._setting(CACERTS))
        )
        wanted = {"token": secret, **commands}
        if status != wanted:
            token["status"] = wanted
            await self.client.update(CLUSTER_REGISTRATION_TOKENS, token, subresource="status")
        return commands

    async def _write_status(self, name: str, registration: dict[str, str]) -> None:
        for _ in range(5):
            try:
                current = await self.client.get(CLUSTERS, name)
            except NotFound:
                return
            status = current.setdefault("status", {})
            before = repr(status)
            if name == LOCAL_CLUSTER:
                status["state"] = "active"
                _condition(current, "Connected", True, "Local", "this is the Corral server")
                _condition(current, "Ready", True, "APIReady", "the API server answers")
                status.pop("registration", None)
            else:
                if registration:
                    status["registration"] = registration
                else:
                    status.pop("registration", None)
                if "state" not in status:
                    status["state"] = "pending"
                if get_condition(current, "Connected") is None:
                    _condition(
                        current, "Connected", False, "NeverConnected", "no agent has connected yet"
                    )
            if repr(status) == before:
                return
            try:
                await self.client.update(CLUSTERS, current, subresource="status")
                return
            except Conflict:
                continue

    # -- cleanup -------------------------------------------------------------------

    async def _cleanup(self, key: str, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        tokens = await self.client.list(CLUSTER_REGISTRATION_TOKENS, namespace=name)
        for token in tokens.get("items") or []:
            await _delete(self.client, CLUSTER_REGISTRATION_TOKENS, token["metadata"]["name"], name)
        await _delete(self.client, SECRETS, AGENT_SECRET, name)
        if name != LOCAL_CLUSTER:  # made again at once: its namespace stays
            await _delete(self.client, NAMESPACES, name, None)
        log.info("cluster removed", extra={"cluster": name})


def _condition(obj: Obj, kind: str, status: bool, reason: str, message: str) -> None:
    """`set_condition`, plus Rancher's ``lastUpdateTime`` when anything changed."""
    if set_condition(obj, kind, status, reason, message):
        found = get_condition(obj, kind)
        if found is not None:
            found["lastUpdateTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _delete(client: Client, ref: ResourceRef, name: str, namespace: str | None) -> None:
    with contextlib.suppress(NotFound):
        await client.delete(ref, name, namespace=namespace)


class ManagementControllers:
    """The management controllers, run while this replica holds the ``corral-management`` lease."""

    def __init__(
        self, client: Client, identity: str, lease: tuple[float, float, float] = (15, 10, 2)
    ) -> None:
        duration, renew, retry = lease
        self._client = client
        self._elector = LeaderElector(
            client,
            LEASE_NAMESPACE,
            LEASE_NAME,
            identity,
            lease_duration=duration,
            renew_deadline=renew,
            retry_period=retry,
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._elector.run(self._lead), name="management")

    async def _lead(self) -> None:
        controller = ClusterController(self._client)
        try:
            await controller.run()
        finally:
            await controller.stop()

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._elector.stop()
        try:
            async with asyncio.timeout(10):
                await self._task
        except TimeoutError:
            self._task.cancel()
        self._task = None

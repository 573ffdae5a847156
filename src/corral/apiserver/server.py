"""Building the Kubernetes API from a started backend: registry, caches, routes.

`build_kube_api` is what start-up calls: it makes the built-in registry,
one watch cache per storage prefix (started at once; they list in the
background, and the ``watch-cache`` readiness check fails until every one
has), the `KubeAPI` that serves ``/api`` and ``/apis``, and the OpenAPI
documents (whose schemas start loading in a background thread), and the
CRD controller, which serves every stored CRD (readiness check
``crd-informer-synced`` fails until the CRDs stored at start-up are served)
and rebuilds discovery and OpenAPI when they change. The system namespaces
are created here too. `stop` ends the controller and every watch (at
shutdown, before the HTTP servers wait for open requests).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from corral.apiserver.admission import (
    BuiltinAdmission,
    ServiceRanges,
    build_admission,
    ensure_kubernetes_service,
)
from corral.apiserver.api import KubeAPI
from corral.apiserver.bootstrap import ensure_system_namespaces
from corral.apiserver.crds import CRDController
from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.health import CheckFailed, HealthChecks
from corral.apiserver.openapi_routes import OpenAPIRoutes
from corral.apiserver.registry import EVENT_TTL, Registry
from corral.apiserver.watchcache import DEFAULT_RING_SIZE, WatchCaches
from corral.machinery.openapi import preload_in_background
from corral.storage import Backend


@dataclass(slots=True)
class KubeAPIServer:
    """The API and the caches behind it."""

    api: KubeAPI
    openapi: OpenAPIRoutes
    caches: WatchCaches
    crds: CRDController
    admission: BuiltinAdmission | None = None
    #: What others started on these caches (the RBAC feed): stopped first.
    stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def stop(self) -> None:
        for stop in self.stoppers:
            await stop()
        if self.admission is not None:
            await self.admission.stop()
        await self.crds.stop()
        await self.caches.stop()


async def build_kube_api(
    backend: Backend,
    health: HealthChecks,
    *,
    ring_size: int = DEFAULT_RING_SIZE,
    event_ttl: int = EVENT_TTL,
    service_ranges: ServiceRanges | None = None,
) -> KubeAPIServer:
    registry = Registry.builtin(event_ttl)
    await ensure_system_namespaces(backend, registry)
    caches = WatchCaches(backend, registry.storage_prefixes(), ring_size)
    caches.start()

    async def synced() -> None:
        missing = caches.unsynced()
        if missing:
            raise CheckFailed(f"{len(missing)} watch caches have not listed yet")

    health.add_readiness("watch-cache", synced)
    admission = build_admission(backend, service_ranges, caches)
    await ensure_kubernetes_service(backend, registry, admission)
    admission.start()
    parts = ServerParts(
        backend=backend, registry=registry, caches=caches, admission=admission.chain
    )
    preload_in_background()  # the schemas, for validation and /openapi
    api = KubeAPI(parts)
    openapi = OpenAPIRoutes(registry)

    def registry_changed() -> None:
        api.refresh_discovery()
        openapi.refresh()

    crds = CRDController(backend, registry, caches, registry_changed)
    crds.start()

    async def crds_synced() -> None:
        if not crds.synced.is_set():
            raise CheckFailed("the stored CustomResourceDefinitions are not served yet")

    health.add_readiness("crd-informer-synced", crds_synced)
    return KubeAPIServer(api, openapi, caches, crds, admission)

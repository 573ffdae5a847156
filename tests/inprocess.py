"""The Kubernetes API in-process (memory backend), for tests that need no real server.

`inprocess_api` builds what ``corral server`` builds — the registry, the watch
caches, admission, the ASGI app — on a `MemoryBackend`, waits for the caches
to list, and hands back an `InProcessAPI`: an httpx client speaking to the app
as the admin, and `InProcessAPI.client_for` for in-process `corral.client`
clients acting as named users (the loopback transport controllers use).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

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
from corral.client import Client
from corral.machinery.authn import UnionAuthenticator
from corral.storage import MemoryBackend

ADMIN_TOKEN = "in-process-admin-token"


@dataclass
class InProcessAPI:
    app: APIServerApp
    kube: KubeAPIServer
    backend: MemoryBackend
    http: httpx.AsyncClient
    loopback: LoopbackAuthenticator

    def client_for(self, user: str, namespace: str = "default") -> Client:
        """A `corral.client.Client` acting as ``user`` (close it when done)."""
        return Client(LoopbackTransport(self.app, self.loopback.issue(user)), namespace=namespace)


@contextlib.asynccontextmanager
async def inprocess_api() -> AsyncIterator[InProcessAPI]:
    backend = MemoryBackend()
    await backend.start()
    health = HealthChecks()
    kube = await build_kube_api(backend, health)
    async with asyncio.timeout(10):
        while kube.caches.unsynced():  # noqa: ASYNC110 (polling with a deadline)
            await asyncio.sleep(0.01)
    loopback = LoopbackAuthenticator()
    admin = BootstrapTokenAuthenticator(hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest())
    app = APIServerApp(
        authenticator=UnionAuthenticator(admin, loopback),
        health=health,
        metrics=HTTPMetrics(),
        api=kube.api,
    )
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    try:
        yield InProcessAPI(app, kube, backend, http, loopback)
    finally:
        await http.aclose()
        await kube.stop()
        await backend.close()

"""The API with local identity in-process (memory backend), for the identity tests.

`identity_api` builds what ``corral server`` builds with management on — the
Kubernetes API, `corral.management.Identity` (its authenticator, ``/v3``
routes and password-change filter) — and hands back an `IdentityAPI`: an
httpx client without credentials (``anonymous``) and one with the admin
token (``admin``), both speaking to the ASGI app, and the `Identity` itself.
Token lifetimes and the server's origins may be set per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from corral.machinery.authn import MASTERS_GROUP, UnionAuthenticator
from corral.management import Identity, IdentityOptions, TokenTTLs
from corral.storage import MemoryBackend

ADMIN_TOKEN = "in-process-admin-token"
ORIGIN = "https://testserver"
LOGIN = "/v3-public/localProviders/local?action=login"
PASSWORD = "correct-horse-battery"


@dataclass
class IdentityAPI:
    app: APIServerApp
    kube: KubeAPIServer
    identity: Identity
    anonymous: httpx.AsyncClient
    admin: httpx.AsyncClient
    system: Client
    bootstrap_password: str | None

    def client(self, **headers: str) -> httpx.AsyncClient:
        """A client of the app with ``headers`` (close it when done)."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=ORIGIN, headers=headers
        )

    async def create_user(self, name: str, password: str = PASSWORD, **fields: Any) -> None:
        body = {"username": name, "password": password, "mustChangePassword": False, **fields}
        answer = await self.admin.post("/v3/users", json=body)
        assert answer.status_code == 201, answer.text

    async def login(self, name: str, password: str = PASSWORD, **fields: Any) -> str:
        body = {"username": name, "password": password, **fields}
        answer = await self.anonymous.post(LOGIN, json=body)
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["token"]
        return token


@contextlib.asynccontextmanager
async def identity_api(data_dir: Path, ttls: TokenTTLs | None = None) -> AsyncIterator[IdentityAPI]:
    backend = MemoryBackend()
    await backend.start()
    kube = await build_kube_api(backend, HealthChecks())
    async with asyncio.timeout(10):
        while kube.caches.unsynced():  # noqa: ASYNC110 (polling with a deadline)
            await asyncio.sleep(0.01)
    identity = Identity(kube.api.parts, IdentityOptions(data_dir, ttls=ttls or TokenTTLs()))
    loopback = LoopbackAuthenticator()
    admin = BootstrapTokenAuthenticator(hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest())
    app = APIServerApp(
        authenticator=UnionAuthenticator(admin, loopback, identity.authenticator),
        health=HealthChecks(),
        metrics=HTTPMetrics(),
        api=kube.api,
        routes=identity.routes,
        filters=identity.filters,
        origins=[ORIGIN],
    )
    system = Client(LoopbackTransport(app, loopback.issue("system:test", (MASTERS_GROUP,))))
    password = await identity.start(system)
    transport = httpx.ASGITransport(app=app)
    anonymous = httpx.AsyncClient(transport=transport, base_url=ORIGIN)
    admin_http = httpx.AsyncClient(
        transport=transport,
        base_url=ORIGIN,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    try:
        yield IdentityAPI(app, kube, identity, anonymous, admin_http, system, password)
    finally:
        await identity.stop()
        await anonymous.aclose()
        await admin_http.aclose()
        await system.close()
        await kube.stop()
        await backend.close()

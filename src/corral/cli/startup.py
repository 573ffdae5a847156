"""Start-up, after the ports are bound: datastore, TLS, credentials, apps.

The order is fixed and each step's failure is a one-line `StartupError`
that leaves everything on disk as it was:

1. open and start the datastore (unknown scheme, in use, corrupt, too new);
2. load or create the CA, the serving certificate and the service account
   signing key (`corral.pki`);
3. issue or keep the admin token and ``admin.kubeconfig`` (`corral.auth`);
4. build the Kubernetes API (registry, system namespaces, watch caches with
   their ``watch-cache`` readiness check), the two ASGI apps, the health
   registry (with the ``storage`` readiness check) and the metrics;
5. build (not start) the controller manager and the simulated nodes, whose
   clients are in-process (loopback) and act as named system users; `serve`
   starts them once the servers listen (`Components.start_background`).

The watch caches' event ring size may be set (for tests) with the hidden
environment variable ``CORRAL_WATCH_CACHE_SIZE``.

`open_storage` returns a started backend; the caller closes it whatever
happens next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import prometheus_client

from corral.apiserver import (
    APIServerApp,
    HealthChecks,
    HTTPMetrics,
    HTTPRedirectApp,
    KubeAPIServer,
    LoopbackAuthenticator,
    LoopbackTransport,
    add_node_connector,
    build_kube_api,
    storage_check,
)
from corral.apiserver.admission.services import ServiceRanges
from corral.apiserver.handlers.tokenrequest import set_token_issuer
from corral.apiserver.objectreader import CachedObjects
from corral.auth import (
    AdminCredentials,
    AuthError,
    BootstrapTokenAuthenticator,
    ServiceAccountAuthenticator,
    ServiceAccountTokens,
    ensure_admin_credentials,
)
from corral.auth.rbac import CONTROLLER_MANAGER_USER
from corral.cli.authorization import install_rbac
from corral.cli.errors import StartupError
from corral.cli.settings import ServerSettings
from corral.client import Client
from corral.kube.context import KubeOptions
from corral.kube.manager import ControllerManager, LeaseTimings
from corral.machinery.authn import UnionAuthenticator
from corral.node.simulated import SimulatedNodes
from corral.pki import (
    CertPolicy,
    PKIError,
    ServingCertRenewer,
    TLSPaths,
    TLSState,
    ensure_tls,
    server_context,
    serving_sans,
)
from corral.pki.signingkey import ensure_service_account_key, existing_service_account_key
from corral.storage import Backend, StorageError, open_backend

log = logging.getLogger("corral.cli")

KUBECONFIG_NAME = "admin.kubeconfig"


def display_url(url: str) -> str:
    """A datastore URL fit for logs and errors: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


async def open_storage(settings: ServerSettings) -> Backend:
    """The started backend of ``--datastore``, or `StartupError`."""
    try:
        backend = open_backend(settings.datastore)
    except StorageError as exc:
        raise StartupError(f"--datastore: {exc}") from None
    try:
        await backend.start()
    except StorageError as exc:
        with contextlib.suppress(Exception):
            await backend.close()
        raise StartupError(str(exc)) from None
    return backend


@dataclass(frozen=True, slots=True)
class Components:
    """What start-up built, ready to serve."""

    tls: TLSState
    ssl_context: ssl.SSLContext
    renewer: ServingCertRenewer
    credentials: AdminCredentials
    health: HealthChecks
    metrics: HTTPMetrics
    https_app: APIServerApp
    http_app: HTTPRedirectApp
    kube: KubeAPIServer
    controllers: ControllerManager
    nodes: SimulatedNodes | None

    async def start_background(self) -> None:
        """Start the leader-elected controllers and the simulated nodes."""
        self.controllers.start()
        if self.nodes is not None:
            await self.nodes.start()

    async def stop_background(self) -> None:
        if self.nodes is not None:
            await self.nodes.stop()
        await self.controllers.stop()


async def build_components(
    settings: ServerSettings, backend: Backend, https_port: int
) -> Components:
    """TLS material, admin credentials and the apps; raises `StartupError`."""
    paths = TLSPaths.under(settings.data_dir)
    policy = CertPolicy(check_interval=settings.cert_check_interval)
    try:
        sans = serving_sans(settings.certificate_sans)
        # An unusable signing key file stops the start before anything is written.
        await asyncio.to_thread(existing_service_account_key, paths.dir)
        tls = await asyncio.to_thread(ensure_tls, paths, sans, policy)
        sa_key = await asyncio.to_thread(ensure_service_account_key, paths.dir)
        ssl_context = server_context(paths)
    except PKIError as exc:
        raise StartupError(str(exc)) from None
    renewer = ServingCertRenewer(paths, sans, policy, ssl_context, tls)

    try:
        credentials = await ensure_admin_credentials(
            backend,
            settings.data_dir / KUBECONFIG_NAME,
            settings.https_url(https_port),
            tls.ca_pem,
        )
    except AuthError as exc:
        raise StartupError(str(exc)) from None

    # Kubernetes exposes no ``*_created`` series; neither do we (process-wide).
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    health = HealthChecks()
    health.add_readiness("storage", storage_check(backend))
    metrics = HTTPMetrics()
    kube = await build_kube_api(
        backend,
        health,
        ring_size=_ring_size(),
        event_ttl=settings.event_ttl,
        service_ranges=ServiceRanges(settings.service_cidr, settings.node_port_range),
    )
    authorizer = await install_rbac(kube, health)  # RBAC: policy, index, escalation checks
    loopback = LoopbackAuthenticator()
    sa_tokens = ServiceAccountTokens(sa_key)  # serviceaccounts/token, the tokens controller
    set_token_issuer(kube.api.parts, sa_tokens)
    https_app = APIServerApp(
        authenticator=UnionAuthenticator(
            BootstrapTokenAuthenticator(credentials.token_hash),
            loopback,
            ServiceAccountAuthenticator(sa_tokens, CachedObjects(kube.api.parts)),
        ),
        authorizer=authorizer,
        health=health,
        metrics=metrics,
        api=kube.api,
        openapi=kube.openapi,
    )
    http_app = HTTPRedirectApp(
        health=health,
        metrics=metrics,
        https_port=https_port,
        default_host=settings.public_host,
    )

    def client_for(user: str, groups: tuple[str, ...] = ()) -> Client:
        """An in-process client acting as the system user ``user``."""
        return Client(LoopbackTransport(https_app, loopback.issue(user, groups)))

    duration, renew, retry = settings.lease_timings
    controllers = ControllerManager(
        # Least privilege: the ClusterRole system:kube-controller-manager (auth.rbac.bootstrap).
        client_for(CONTROLLER_MANAGER_USER),
        options=KubeOptions(
            node_monitor_grace_period=settings.node_monitor_grace_period,
            ca_pem=tls.ca_pem,
            token_issuer=sa_tokens,
        ),
        controllers=settings.controllers,
        lease=LeaseTimings(duration, renew, retry),
    )
    nodes = SimulatedNodes(client_for, settings.simulate_nodes) if settings.simulate_nodes else None
    if nodes is not None:  # pods/log, exec… of pods on simulated nodes reach them
        add_node_connector(kube.api.parts, nodes.connector)
    return Components(
        tls,
        ssl_context,
        renewer,
        credentials,
        health,
        metrics,
        https_app,
        http_app,
        kube,
        controllers,
        nodes,
    )


def _ring_size() -> int:
    text = os.environ.get("CORRAL_WATCH_CACHE_SIZE", "")
    return int(text) if text.isdigit() and int(text) > 0 else 1024

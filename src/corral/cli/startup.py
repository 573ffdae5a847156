"""Start-up, after the ports are bound: datastore, TLS, credentials, apps.

The order is fixed and each step's failure is a one-line `StartupError`
that leaves everything on disk as it was:

1. open and start the datastore (unknown scheme, in use, corrupt, too new),
   wrapped in encryption at rest (`corral.storage.encryption`): the key file
   is loaded or created and the stored values are checked against it (a
   missing or wrong key stops the start here);
2. agree with the other replicas of the datastore on the CA and the
   service account signing key (`corral.auth.sharedmaterial`: the first
   replica stores them under ``/corral/bootstrap/``, the others write them
   to their ``tls/``), then load them and issue this replica's own serving
   certificate (`corral.pki`);
3. issue or keep the admin token and ``admin.kubeconfig`` (`corral.auth`); a
   replica joining the datastore writes its kubeconfig with the shared token;
4. build the Kubernetes API (registry, system namespaces, watch caches with
   their ``watch-cache`` readiness check), the two ASGI apps (the HTTPS one
   with the web console at ``/`` unless ``--no-ui``, and the console's
   ``/v3/subscribe`` WebSocket: `corral.ui`), the health
   registry (with the ``storage`` readiness check) and the metrics;
5. with management on, local identity (`corral.management.Identity`): its
   token authenticator, ``/v3`` routes and password-change filter go into the
   HTTPS app; once the app exists it installs the User and Token kinds and
   the ``admin`` user (whose new bootstrap password `Components` carries, for
   `serve` to show on a terminal only); then clusters
   (`corral.management.clusters.ClusterService`): the cluster admission
   plugin and ``/v3`` settings, import and kubeconfig routes, and once the
   app exists the cluster kinds and the ``cacerts``/``agent-image``/
   ``server-url`` Settings; its leader-elected controller starts with the
   others (`Components.start_background`);
6. build (not start) the controller manager, the per-cluster health
   controllers (management only) and the simulated nodes, whose clients are
   in-process (loopback) and act as named system users; `serve` starts them
   once the servers listen (`Components.start_background`).

The audit log (``--audit-log-path``) is opened with the apps and is the
outermost filter of the HTTPS app; it is closed (its queue written) by
`Components.close`, after the servers have stopped.

The watch caches' event ring size may be set (for tests) with the hidden
environment variable ``CORRAL_WATCH_CACHE_SIZE``, and the lifetime of a watch
without ``timeoutSeconds`` (normally 30 to 60 minutes) with
``CORRAL_WATCH_TIMEOUT`` (seconds); the console's build directory with
``CORRAL_UI_DIR``.

`open_storage` returns a started backend (and the encryption service, whose
background rewriter `Components.start_background` starts); the caller closes
the backend whatever happens next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import prometheus_client

from corral import ui
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
from corral.apiserver.asgi import Request, Response
from corral.apiserver.audit import Audit, AuditLog, Level
from corral.apiserver.handlers.tokenrequest import set_token_issuer
from corral.apiserver.objectreader import CachedObjects
from corral.apiserver.pipeline import Route
from corral.auth import (
    AdminCredentials,
    AuthError,
    BootstrapTokenAuthenticator,
    ServiceAccountAuthenticator,
    ServiceAccountTokens,
    SharedMaterialError,
    ensure_admin_credentials,
)
from corral.auth.rbac import CLUSTER_HEALTH_USER, CONTROLLER_MANAGER_USER, MANAGEMENT_USER
from corral.auth.sharedmaterial import (
    share_admin_token,
    share_tls_material,
    sync_admin_kubeconfig,
)
from corral.cli.authorization import install_rbac
from corral.cli.errors import StartupError
from corral.cli.settings import ServerSettings
from corral.client import Client, ClientError
from corral.kube.context import KubeOptions
from corral.kube.manager import ControllerManager, LeaseTimings
from corral.machinery.authn import Authenticator, UnionAuthenticator
from corral.machinery.authz import Authorizer
from corral.machinery.status import MethodNotAllowed, StatusError
from corral.management import Identity, IdentityOptions, TokenTTLs
from corral.management.agenttunnels import AgentTunnels, TunnelOptions
from corral.management.clusterhealth import ElectedClusterHealth
from corral.management.clusters import ClusterOptions, ClusterService
from corral.management.peertunnels import peer_secret
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
from corral.pki.store import existing_ca
from corral.proxy import (
    ClusterProxy,
    ProxyMetrics,
    SecretAccessSource,
    cluster_admins_may_use,
)
from corral.storage import Backend, StorageError, open_backend
from corral.storage.encryption import DecryptError, EncryptionAtRest, status_path_for
from corral.tunnel import TunnelMetrics

log = logging.getLogger("corral.cli")

KUBECONFIG_NAME = "admin.kubeconfig"

#: Added to a start refused because stored values do not decrypt: the usual
#: cause is a replica given its own key file instead of the shared one.
SAME_KEY_FILE_HINT = (
    "every replica of one datastore needs the same key file: copy "
    "encryption-config.json from the first replica's data directory, or point "
    "--encryption-provider-config at the same file"
)


def display_url(url: str) -> str:
    """A datastore URL fit for logs and errors: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True, slots=True)
class OpenedStorage:
    """The started backend (encrypting), and the service that keeps its keys."""

    backend: Backend
    encryption: EncryptionAtRest


async def open_storage(settings: ServerSettings) -> OpenedStorage:
    """The started, encrypting backend of ``--datastore``, or `StartupError`."""
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
    encryption = EncryptionAtRest(
        backend,
        settings.encryption_config,
        status_path=status_path_for(settings.data_dir),
        enabled=settings.secrets_encryption,
        poll_interval=settings.encryption_poll_interval,
    )
    try:
        encrypted = await encryption.open()
    except StorageError as exc:
        with contextlib.suppress(Exception):
            await backend.close()
        hint = ""
        if isinstance(exc, DecryptError):
            hint = f"; {SAME_KEY_FILE_HINT}"
        raise StartupError(f"encryption at rest: {exc}{hint}") from None
    return OpenedStorage(encrypted, encryption)


def open_audit_log(settings: ServerSettings, metrics: HTTPMetrics) -> AuditLog | None:
    """The started audit log of ``--audit-log-path`` (None without one)."""
    if settings.audit_log_path is None or settings.audit_level == "None":
        return None
    audit_log = AuditLog(
        settings.audit_log_path,
        max_bytes=settings.audit_log_maxsize * 1024 * 1024,
        max_backups=settings.audit_log_maxbackup,
        registry=metrics.registry,
    )
    try:
        audit_log.start()
    except OSError as exc:
        raise StartupError(
            f"--audit-log-path: cannot open {settings.audit_log_path}: {exc.strerror}"
        ) from None
    return audit_log


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
    encryption: EncryptionAtRest | None = None
    audit_log: AuditLog | None = None
    identity: Identity | None = None
    #: The ``admin`` user's password when this start created it (show it on a terminal only).
    bootstrap_password: str | None = None
    #: Clusters, settings, import manifests, kubeconfigs (management on).
    clusters: ClusterService | None = None
    #: Agent tunnels (``/v3/connect``) and the access source over them (management only).
    tunnels: AgentTunnels | None = None
    #: ``/k8s/clusters/…`` (with management on).
    proxy: ClusterProxy | None = None
    #: The per-cluster health controllers (management only; leader-elected).
    cluster_health: ElectedClusterHealth | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start_background(self) -> None:
        """Start the leader-elected controllers, the simulated nodes and the
        re-encryption of stored values."""
        self.controllers.start()
        if self.clusters is not None:
            self.clusters.start_controllers()
        if self.cluster_health is not None:
            self.cluster_health.start()
        if self.nodes is not None:
            await self.nodes.start()
        if self.encryption is not None:
            self._tasks.append(asyncio.create_task(self.encryption.run(), name="encryption"))

    async def stop_background(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.nodes is not None:
            await self.nodes.stop()
        await self.controllers.stop()
        if self.cluster_health is not None:
            await self.cluster_health.stop()
        if self.tunnels is not None:
            await self.tunnels.stop()
        if self.clusters is not None:
            await self.clusters.stop()
        if self.identity is not None:
            await self.identity.stop()
        if self.proxy is not None:
            await self.proxy.close()

    async def close(self) -> None:
        """Write what the audit log still holds (after the servers stopped)."""
        if self.audit_log is not None:
            await self.audit_log.close()


async def build_components(
    settings: ServerSettings, storage: OpenedStorage, https_port: int
) -> Components:
    """TLS material, admin credentials and the apps; raises `StartupError`."""
    backend = storage.backend
    paths = TLSPaths.under(settings.data_dir)
    policy = CertPolicy(check_interval=settings.cert_check_interval)
    try:
        sans = serving_sans(settings.certificate_sans)
        # An unusable signing key file stops the start before anything is written.
        await asyncio.to_thread(existing_service_account_key, paths.dir)
        await asyncio.to_thread(existing_ca, paths)
        shared = await share_tls_material(backend, paths)
        tls = await asyncio.to_thread(ensure_tls, paths, sans, policy)
        sa_key = await asyncio.to_thread(ensure_service_account_key, paths.dir)
        ssl_context = server_context(paths)
    except (PKIError, SharedMaterialError) as exc:
        raise StartupError(str(exc)) from None
    renewer = ServingCertRenewer(paths, sans, policy, ssl_context, tls)

    kubeconfig_path = settings.data_dir / KUBECONFIG_NAME
    server_url = settings.https_url(https_port)
    try:
        await sync_admin_kubeconfig(
            backend, kubeconfig_path, server_url, tls.ca_pem, joined=shared.joined
        )
        credentials = await ensure_admin_credentials(
            backend, kubeconfig_path, server_url, tls.ca_pem
        )
    except AuthError as exc:
        raise StartupError(str(exc)) from None

    # Kubernetes exposes no ``*_created`` series; neither do we (process-wide).
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    health = HealthChecks()
    health.add_readiness("storage", storage_check(backend))
    metrics = HTTPMetrics()
    audit_log = open_audit_log(settings, metrics)  # before anything else runs in background
    kube = await build_kube_api(
        backend,
        health,
        ring_size=_ring_size(),
        event_ttl=settings.event_ttl,
        service_ranges=ServiceRanges(settings.service_cidr, settings.node_port_range),
    )
    if (watch_timeout := _env_int("CORRAL_WATCH_TIMEOUT")) is not None:
        kube.api.parts.watch_timeout_range = (watch_timeout, watch_timeout)
    authorizer = await install_rbac(kube, health)  # RBAC: policy, index, escalation checks
    loopback = LoopbackAuthenticator()
    sa_tokens = ServiceAccountTokens(sa_key)  # serviceaccounts/token, the tokens controller
    set_token_issuer(kube.api.parts, sa_tokens)
    authenticators: list[Authenticator] = [
        BootstrapTokenAuthenticator(credentials.token_hash),
        loopback,
        ServiceAccountAuthenticator(sa_tokens, CachedObjects(kube.api.parts)),
    ]
    identity = _identity(settings, kube) if settings.management else None
    tunnels = (
        _agent_tunnels(settings, paths, tls.ca_pem, https_port, metrics)
        if settings.management
        else None
    )
    if identity is not None:
        authenticators.append(identity.authenticator)
    web = ui.console(_ui_dir()) if settings.ui else None
    subscriptions = ui.SubscriptionEndpoint()
    clusters = _clusters(settings, kube, tls.ca_pem) if settings.management else None
    proxy = (
        _cluster_proxy(kube, authorizer, metrics, tunnels, clusters)
        if settings.management
        else None
    )
    https_app = APIServerApp(
        authenticator=UnionAuthenticator(*authenticators),
        authorizer=authorizer,
        health=health,
        metrics=metrics,
        api=kube.api,
        openapi=kube.openapi,
        audit=None if audit_log is None else Audit(audit_log, Level.parse(settings.audit_level)),
        routes=[
            _ca_route(tls.ca_pem),
            *(identity.routes if identity is not None else ()),
            *(web.routes() if web is not None else ()),
            subscriptions.route(),
            *(clusters.routes if clusters is not None else ()),
            *([proxy.route()] if proxy is not None else []),
        ],
        filters=identity.filters if identity is not None else (),
        origins=_own_origins(settings, https_port),
        websocket_routes=tunnels.websocket_routes if tunnels is not None else None,
        console=web.fallback() if web is not None else None,
    )
    if proxy is not None:
        proxy.local_app = https_app.dispatch_authenticated
    subscriptions.bind(https_app)  # each subscription is a watch through this app
    http_app = HTTPRedirectApp(
        health=health,
        metrics=metrics,
        https_port=https_port,
        default_host=settings.public_host,
    )

    def client_for(user: str, groups: tuple[str, ...] = ()) -> Client:
        """An in-process client acting as the system user ``user``.

        Its User-Agent names the component, as Kubernetes' do, so that its
        writes are recorded in managedFields under that name
        (``kube-controller-manager``, ``kubelet``).
        """
        agent = "kubelet" if user.startswith("system:node:") else user.removeprefix("system:")
        return Client(LoopbackTransport(https_app, loopback.issue(user, groups), agent))

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
    bootstrap_password = None
    if identity is not None:
        try:
            # Least privilege: the ClusterRole system:corral-management.
            bootstrap_password = await identity.start(client_for(MANAGEMENT_USER))
        except (StatusError, ClientError, TimeoutError) as exc:
            await identity.stop()
            raise StartupError(f"cannot set up local users: {exc}") from None
    if clusters is not None:
        try:
            tokens = identity.tokens if identity is not None else None
            await clusters.start(client_for(MANAGEMENT_USER), tokens)
        except (StatusError, ClientError, TimeoutError) as exc:
            await clusters.stop()
            if identity is not None:
                await identity.stop()
            raise StartupError(f"cannot set up clusters: {exc}") from None
    try:
        # Last: a replica joining at the same moment waits for this record
        # (`sync_admin_kubeconfig`), so it finds the admin User, its password
        # and the RBAC defaults made, instead of racing to make them too.
        await share_admin_token(backend, kubeconfig_path, credentials.token_hash)
    except AuthError as exc:
        if clusters is not None:
            await clusters.stop()
        if identity is not None:
            await identity.stop()
        raise StartupError(str(exc)) from None
    if tunnels is not None and clusters is not None and clusters.registration is not None:
        # The agents' endpoints authenticate with the clusters' registration tokens.
        await tunnels.start(client_for(MANAGEMENT_USER), clusters.registration)
    cluster_health = None
    if tunnels is not None:
        # Least privilege: the ClusterRole system:corral-cluster-health.
        cluster_health = ElectedClusterHealth(
            client_for(CLUSTER_HEALTH_USER),
            tunnels.access,
            authorizer,
            lease=settings.lease_timings,
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
        storage.encryption,
        audit_log,
        identity,
        bootstrap_password,
        clusters,
        tunnels=tunnels,
        proxy=proxy,
        cluster_health=cluster_health,
    )


def _identity(settings: ServerSettings, kube: KubeAPIServer) -> Identity:
    ttls = TokenTTLs(
        session=settings.session_ttl,
        idle=settings.session_idle_timeout,
        maximum=settings.token_max_ttl,
        kubeconfig=settings.kubeconfig_token_ttl,
    )
    options = IdentityOptions(
        data_dir=settings.data_dir,
        # Only from the environment: a flag would show in ps.
        bootstrap_password=os.environ.get("CORRAL_BOOTSTRAP_PASSWORD") or None,
        password_min_length=settings.password_min_length,
        ttls=ttls,
    )
    return Identity(kube.api.parts, options)


def _agent_tunnels(
    settings: ServerSettings,
    paths: TLSPaths,
    ca_pem: bytes,
    https_port: int,
    metrics: HTTPMetrics,
) -> AgentTunnels:
    """The agents' tunnel endpoints; this replica is known by its advertised URL."""
    advertise = settings.advertise_url or settings.https_url(https_port)
    try:
        secret = peer_secret(paths.ca_key)
    except OSError as exc:
        raise StartupError(f"cannot read {paths.ca_key}: {exc.strerror or exc}") from None
    options = TunnelOptions(
        replica=advertise,
        advertise_url=advertise,
        ca_pem=ca_pem,
        peer_secret=secret,
        agent_timeout=settings.cluster_agent_timeout,
        metrics=TunnelMetrics(metrics.registry),
    )
    return AgentTunnels(options)


def _clusters(settings: ServerSettings, kube: KubeAPIServer, ca_pem: bytes) -> ClusterService:
    options = ClusterOptions(
        ca_pem=ca_pem, server_url=settings.server_url, lease_timings=settings.lease_timings
    )
    return ClusterService(kube.api.parts, options)


def _cluster_proxy(
    kube: KubeAPIServer,
    authorizer: Authorizer,
    metrics: HTTPMetrics,
    tunnels: AgentTunnels | None,
    clusters: ClusterService | None,
) -> ClusterProxy:
    """``/k8s/clusters/…``: clusters reached through their agents' tunnels (directly with
    their registered credentials without tunnels), used by whom management allows (global
    administrators without it)."""
    return ClusterProxy(
        tunnels.access
        if tunnels is not None
        else SecretAccessSource(CachedObjects(kube.api.parts)),
        clusters.users.may_use if clusters is not None else cluster_admins_may_use(authorizer),
        metrics=ProxyMetrics(metrics.registry),
        authorizer=authorizer,
        exists=_cluster_exists(clusters) if clusters is not None else None,
    )


def _cluster_exists(clusters: ClusterService) -> Callable[[str], Awaitable[bool]]:
    """Whether a Cluster exists (the proxy's 404 to those who may list clusters)."""

    async def exists(cluster_id: str) -> bool:
        return await clusters.users.cluster(cluster_id) is not None

    return exists


def _ca_route(ca_pem: bytes) -> Route:
    """``GET /cacerts``: the CA certificate (PEM), public, for ``corral login``."""

    async def serve(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed("cacerts", request.method)
        return Response(200, ca_pem, b"application/x-pem-file")

    return Route("cacerts", "/cacerts", serve)


def _own_origins(settings: ServerSettings, https_port: int) -> list[str]:
    """The origins of this server's own URLs: where its web pages come from."""
    hosts = {settings.public_host, "localhost", "127.0.0.1", "[::1]"}
    for san in settings.tls_sans:
        hosts.add(f"[{san}]" if ":" in san else san)
    return [f"https://{host}:{https_port}" for host in sorted(hosts)]


def _ui_dir() -> Path:
    """The console's build: the package's, or (tests) the hidden ``CORRAL_UI_DIR``."""
    return Path(os.environ.get("CORRAL_UI_DIR") or ui.STATIC_DIR)


def _ring_size() -> int:
    return _env_int("CORRAL_WATCH_CACHE_SIZE") or 1024


def _env_int(name: str) -> int | None:
    """A positive integer from the hidden (test) environment variable ``name``."""
    text = os.environ.get(name, "")
    return int(text) if text.isdigit() and int(text) > 0 else None

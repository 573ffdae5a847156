"""`ClusterProxy`: ``/k8s/clusters/{id}/…``, the authenticated, impersonating way into a cluster.

Corral's pipeline has authenticated the caller (token, or the session
cookie with its CSRF/Origin guard) and applied Corral's own impersonation
rules to ``kubectl --as`` (403 unless Corral's RBAC grants ``impersonate``;
then the request is the impersonated user's). Corral's authorizer is not
asked about the path (`Route.authorizes_itself`); the proxy decides, in
this order, before anything leaves:

1. the caller must be a Corral user (`corral.proxy.identity`) — 403;
2. the service proxy (``…/services/{name}/proxy``) takes bearer tokens
   only: a session-cookie request is refused (403, saying why), so a page
   served by a workload cannot act in a user's session; its answers carry
   ``Content-Security-Policy: sandbox``;
3. ``may_use(user, cluster)`` — 403 ``User "u" cannot use cluster "c"``,
   whether or not the cluster exists, except to users who may list
   clusters anyway: for them a cluster that does not exist (``exists``) is
   404;
4. SPDY upgrades (``Upgrade: SPDY/3.1``, old kubectl exec/port-forward),
   which the ASGI server cannot carry, are refused with 400 saying so;
5. ``local`` (Corral itself) is re-dispatched in-process to Corral's own
   API, path rewritten, as the same (possibly impersonated) user;
6. any other cluster: its access (`AccessSource`) — 404 if it has never
   been registered, 503 "cluster c-x is not connected" when unavailable —
   and the request goes over that cluster's pooled connections with the
   cluster's service-account token and ``Impersonate-User``/``-Group`` of
   the Corral user, headers from the allow-list, the body and the answer
   streamed (`corral.proxy.forward`); a WebSocket upgrade is relayed once
   the cluster answered 101 (`corral.proxy.wsrelay`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote

import httpcore

from corral.apiserver.asgi import AnyResponse, Request
from corral.apiserver.inflight import is_long_running
from corral.apiserver.pipeline import Route
from corral.client.credentials import Authorizer as TokenHeader
from corral.client.dialing import AccessSource, ClusterAccess, ClusterUnavailable
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Authorizer
from corral.machinery.sessions import uses_session_cookie
from corral.machinery.status import (
    BadRequest,
    Forbidden,
    NotFound,
    NotFoundError,
    ServiceUnavailable,
    StatusError,
)
from corral.proxy.errors import ClusterNotFound, ImpersonationMissing
from corral.proxy.forward import forward, request_body, upstream_url
from corral.proxy.headers import Headers, outgoing
from corral.proxy.identity import (
    NOT_A_CORRAL_USER,
    check_outgoing,
    impersonation_headers,
    is_corral_user,
)
from corral.proxy.metrics import ProxyMetrics
from corral.proxy.paths import PREFIX, Target, parse_target
from corral.proxy.pools import ClusterPools, new_connection
from corral.proxy.wsrelay import open_relay

#: The cluster that is Corral itself, served in-process.
LOCAL_CLUSTER = "local"

MayUse = Callable[[UserInfo, str], Awaitable[bool]]
ClusterExists = Callable[[str], Awaitable[bool]]
_LIST_CLUSTERS = Attributes(verb="list", group="management.corral.io", resource="clusters")
LocalDispatch = Callable[[Request], Awaitable[AnyResponse]]

SERVICE_PROXY_COOKIE_REFUSED = (
    "the service proxy accepts bearer tokens only, not the session cookie: "
    "a workload's page must not act in a user's Corral session"
)
SPDY_REFUSED = (
    "SPDY upgrades are not supported through Corral's cluster proxy; "
    "use a kubectl that speaks WebSockets for exec, attach and port-forward (1.30+: the default)"
)


class ClusterProxy:
    """Serves ``/k8s/clusters/{id}/…`` for Corral users who may use the cluster."""

    def __init__(
        self,
        access: AccessSource,
        may_use: MayUse,
        local_app: LocalDispatch | None = None,
        *,
        metrics: ProxyMetrics | None = None,
        authorizer: Authorizer | None = None,
        exists: ClusterExists | None = None,
    ) -> None:
        self._access = access
        self._may_use = may_use
        self._authorizer = authorizer
        self._exists = exists
        #: Set once Corral's app exists (it is built with this proxy's route).
        self.local_app = local_app
        self._pools = ClusterPools()
        self._metrics = metrics if metrics is not None else ProxyMetrics()

    def route(self) -> Route:
        """The route to add to Corral's HTTPS app."""
        return Route("k8s-clusters", PREFIX, self.handle, subpaths=True, authorizes_itself=True)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._pools.close()

    async def handle(self, request: Request) -> AnyResponse:
        """Serve one request under ``/k8s/clusters/``; every answer is counted per cluster."""
        raw_path: bytes = request.scope.get("raw_path") or request.path.encode()
        target = parse_target(raw_path.split(b"?", 1)[0], request.scope.get("query_string", b""))
        if target is None:
            raise NotFoundError()
        started = time.perf_counter()
        try:
            response = await self._serve(request, target, started)
        except StatusError as exc:
            self._metrics.answered(target.cluster, exc.code)
            raise
        self._metrics.answered(target.cluster, response.status)
        return response

    async def _serve(self, request: Request, target: Target, started: float) -> AnyResponse:
        user = request.user
        if user is None or not is_corral_user(user):
            raise Forbidden("", detail=NOT_A_CORRAL_USER)
        if target.service_proxy and uses_session_cookie(request.headers):
            raise Forbidden("", detail=SERVICE_PROXY_COOKIE_REFUSED)
        if not await self._may_use(user, target.cluster):
            if await self._missing_to(user, target.cluster):
                raise NotFound("clusters", target.cluster, group="management.corral.io")
            raise Forbidden("", detail=f'User "{user.name}" cannot use cluster "{target.cluster}"')
        if "spdy" in request.headers.get("upgrade", "").lower():
            raise BadRequest(SPDY_REFUSED)
        if target.cluster == LOCAL_CLUSTER:
            return await self._local(request, target)
        try:
            access = await self._access(target.cluster)
        except ClusterNotFound:
            raise NotFound("clusters", target.cluster, group="management.corral.io") from None
        except ClusterUnavailable:
            raise ServiceUnavailable(f"cluster {target.cluster} is not connected") from None
        pool = await self._pools.pool_for(access)
        headers = outgoing(request.scope["headers"])
        authorization = TokenHeader(access.config).header()
        if authorization:
            headers.append((b"authorization", authorization.encode("latin-1")))
        headers += impersonation_headers(user)
        websocket = request.scope.get("type") == "websocket"
        body = None
        if not websocket:
            chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
            if chunked and "content-length" not in request.headers:
                headers.append((b"transfer-encoding", b"chunked"))
            if chunked or "content-length" in request.headers:
                assert request.receive is not None
                body = request_body(request.receive)
        try:
            check_outgoing(headers, user)
        except ImpersonationMissing as exc:
            raise Forbidden(
                "", detail=f"refused to forward to cluster {target.cluster}: {exc}"
            ) from None
        url = upstream_url(access.config.server, target.path_and_query)
        try:
            response = await self._send(
                request, target, access, pool, url, headers, body, websocket
            )
        except ClusterUnavailable:  # the tunnel went away between lookup and dial
            raise ServiceUnavailable(f"cluster {target.cluster} is not connected") from None
        self._metrics.latency(target.cluster, time.perf_counter() - started)
        return response

    async def _send(
        self,
        request: Request,
        target: Target,
        access: ClusterAccess,
        pool: httpcore.AsyncConnectionPool,
        url: httpcore.URL,
        headers: Headers,
        body: AsyncIterator[bytes] | None,
        websocket: bool,
    ) -> AnyResponse:
        if websocket:
            response = await open_relay(
                new_connection(access, url),
                target.cluster,
                url,
                headers,
                list(request.scope.get("subprotocols") or []),
            )
        else:
            response = await forward(
                pool,
                target.cluster,
                request.method,
                url,
                headers,
                body,
                long_running=is_long_running(request) or _follows(request),
                service_proxy=target.service_proxy,
            )
        return response

    async def _missing_to(self, user: UserInfo, cluster: str) -> bool:
        """True if ``cluster`` does not exist and ``user`` may list clusters (so may know)."""
        if self._authorizer is None or self._exists is None or cluster == LOCAL_CLUSTER:
            return False
        if not self._authorizer.authorize(user, _LIST_CLUSTERS).allowed:
            return False
        return not await self._exists(cluster)

    async def _local(self, request: Request, target: Target) -> AnyResponse:
        """Corral's own API, as the same user, with the path after ``/k8s/clusters/local``."""
        if self.local_app is None:
            raise ServiceUnavailable("the local cluster is not served yet")
        scope = dict(request.scope)
        scope["path"] = unquote(target.path.decode("latin-1"))
        scope["raw_path"] = target.path
        scope["query_string"] = target.query
        local = Request(scope, request.receive)
        local.user = request.user
        local.impersonator = request.impersonator
        return await self.local_app(local)


def _follows(request: Request) -> bool:
    values = request.query.get("follow") or [""]
    return values[-1].lower() in ("true", "1")

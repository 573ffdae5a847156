"""The HTTPS application: every API request Corral serves enters here.

It is plain ASGI. A request is routed, then passes the filters of
`https_filters` (authentication, impersonation, authorization, as DESIGN
§3 describes; admission runs in the store) and ends
in its route's handler. Routes: the health endpoints and ``/version``
(public), ``/metrics``, the Kubernetes API under ``/api`` and ``/apis``
(`KubeAPI`, when given) and its OpenAPI documents under ``/openapi``;
anything else is 404 once authenticated and 401 before. After
authentication, the in-flight limit (`InFlightLimit`) answers 429 when too
many requests are being served. An ``audit`` filter, when given, runs
first and records every answer (`corral.apiserver.audit`). WebSocket
upgrades pass the same filters and are served only for watches
(`corral.apiserver.websocket`).

Start-up adds what upper layers serve: ``routes`` (the identity endpoints
under ``/v3``), ``filters`` run right after authentication and the session
guard (the forced password change), ``origins``, the server's own
origins a cookie-authenticated WebSocket upgrade must come from, and
``websocket_routes``: WebSocket paths served by their own ASGI handler
*instead of* the user pipeline (the agents' tunnel endpoints, which
authenticate with a registration token and rate-limit failures themselves),
and ``console``, the web console's fallback route (`corral.ui`): every path
no route matched outside the API prefixes (its deep links), served without
credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from corral.apiserver.api import KubeAPI
from corral.apiserver.asgi import (
    AnyResponse,
    ASGIApp,
    Receive,
    Request,
    Scope,
    Send,
    serve_lifespan,
)
from corral.apiserver.authorizer import AllowAll
from corral.apiserver.handling import answer
from corral.apiserver.health import HealthChecks, health_routes
from corral.apiserver.inflight import InFlightLimit
from corral.apiserver.metrics import HTTPMetrics
from corral.apiserver.openapi_routes import OpenAPIRoutes
from corral.apiserver.pipeline import (
    Authenticate,
    Authorize,
    Filter,
    Impersonate,
    Route,
    Router,
    SessionGuard,
    chain,
)
from corral.apiserver.websocket import serve_websocket, watches_only
from corral.machinery.authn import Authenticator
from corral.machinery.authz import Authorizer
from corral.machinery.status import NotFoundError


def https_filters(
    authenticator: Authenticator,
    authorizer: Authorizer | None = None,
    after_authentication: Sequence[Filter] = (),
    origins: Iterable[str] = (),
    self_authorizing: frozenset[str] = frozenset(),
) -> list[Filter]:
    """The filters every HTTPS request passes, in order (no ``authorizer``: allow all).

    ``after_authentication`` (the forced password change) sees the user who
    authenticated, before impersonation replaces it.
    """
    authorizer = authorizer if authorizer is not None else AllowAll()
    return [
        Authenticate(authenticator),
        SessionGuard(frozenset(origins)),
        *after_authentication,
        Impersonate(authorizer),
        Authorize(authorizer, self_authorizing),
        InFlightLimit(),
    ]


class APIServerApp:
    """The ASGI app served on the HTTPS port."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        authorizer: Authorizer | None = None,
        health: HealthChecks,
        metrics: HTTPMetrics,
        api: KubeAPI | None = None,
        openapi: OpenAPIRoutes | None = None,
        audit: Filter | None = None,
        routes: Sequence[Route] = (),
        filters: Sequence[Filter] = (),
        origins: Iterable[str] = (),
        websocket_routes: Mapping[str, ASGIApp] | None = None,
        console: Route | None = None,
    ) -> None:
        extra_routes = routes
        self._websocket_routes = dict(websocket_routes or {})
        routes = [*health_routes(health), Route("metrics", "/metrics", metrics.handle)]
        routes += extra_routes
        if api is not None:
            routes += [
                Route("version", "/version", api.handle),
                Route("api", "/api", api.handle, subpaths=True),
                Route("apis", "/apis", api.handle, subpaths=True),
            ]
        if openapi is not None:
            routes.append(Route("openapi", "/openapi", openapi.handle, subpaths=True))
        self._router = Router(routes, fallback=console)
        own = frozenset(r.name for r in routes if r.authorizes_itself)
        self._self_authorizing = own
        pipeline = https_filters(authenticator, authorizer, filters, origins, own)
        if audit is not None:  # outermost: it records refusals too
            pipeline.insert(0, audit)
        self._handler = chain(pipeline, self._router.dispatch)
        watches = frozenset({"api", "apis"})
        upgrades = watches_only(self._router.dispatch, watches, self._router)
        self._ws_handler = chain(pipeline, upgrades)
        # Re-dispatch of an authenticated request (the proxy's cluster `local`).
        authorize = Authorize(authorizer if authorizer is not None else AllowAll())
        self._local_http = chain([authorize], self._router.dispatch)
        self._local_ws = chain([authorize], upgrades)
        self._metrics = metrics

    async def dispatch_authenticated(self, request: Request) -> AnyResponse:
        """Serve ``request``, already authenticated (and impersonated), from
        authorization on: how the cluster proxy serves the cluster ``local``.

        Its path is routed afresh; routes that authorize themselves (the proxy)
        are not served this way (404).
        """
        self._router.match(request)
        if request.route in self._self_authorizing:
            raise NotFoundError("the server could not find the requested resource")
        if request.scope.get("type") == "websocket":
            return await self._local_ws(request)
        return await self._local_http(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await answer(scope, send, self._router, self._handler, self._metrics, receive)
        elif scope["type"] == "websocket":
            own = self._websocket_routes.get(scope.get("path", "").rstrip("/"))
            if own is not None:  # authenticates itself (agent tunnels)
                await own(scope, receive, send)
                return
            await serve_websocket(
                scope, receive, send, self._router, self._ws_handler, self._metrics
            )
        elif scope["type"] == "lifespan":
            await serve_lifespan(receive, send)

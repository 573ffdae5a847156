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
``console``, the web console's fallback route (`corral.ui`): every path no
route matched outside the API prefixes (its deep links), served without
credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from corral.apiserver.api import KubeAPI
from corral.apiserver.asgi import Receive, Scope, Send, serve_lifespan
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


def https_filters(
    authenticator: Authenticator,
    authorizer: Authorizer | None = None,
    after_authentication: Sequence[Filter] = (),
    origins: Iterable[str] = (),
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
        Authorize(authorizer),
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
        console: Route | None = None,
    ) -> None:
        extra_routes = routes
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
        pipeline = https_filters(authenticator, authorizer, filters, origins)
        if audit is not None:  # outermost: it records refusals too
            pipeline.insert(0, audit)
        self._handler = chain(pipeline, self._router.dispatch)
        self._ws_handler = chain(
            pipeline,
            watches_only(self._router.dispatch, frozenset({"api", "apis"}), self._router),
        )
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await answer(scope, send, self._router, self._handler, self._metrics, receive)
        elif scope["type"] == "websocket":
            await serve_websocket(
                scope, receive, send, self._router, self._ws_handler, self._metrics
            )
        elif scope["type"] == "lifespan":
            await serve_lifespan(receive, send)

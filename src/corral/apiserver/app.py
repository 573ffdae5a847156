"""The HTTPS application: every API request Corral serves enters here.

It is plain ASGI. A request is routed, then passes the filters of
`https_filters` (authentication now; impersonation, authorization and
admission slot in after it, in that order, as DESIGN §3 describes) and ends
in its route's handler. Routes today: the health endpoints (public),
``/metrics``; anything else is 404 once authenticated and 401 before.
"""

from __future__ import annotations

from corral.apiserver.asgi import Receive, Scope, Send, serve_lifespan
from corral.apiserver.handling import answer
from corral.apiserver.health import HealthChecks, health_routes
from corral.apiserver.metrics import HTTPMetrics
from corral.apiserver.pipeline import Authenticate, Filter, Route, Router, chain
from corral.machinery.authn import Authenticator


def https_filters(authenticator: Authenticator) -> list[Filter]:
    """The filters every HTTPS request passes, in order."""
    return [Authenticate(authenticator)]


class APIServerApp:
    """The ASGI app served on the HTTPS port."""

    def __init__(
        self, *, authenticator: Authenticator, health: HealthChecks, metrics: HTTPMetrics
    ) -> None:
        routes = [*health_routes(health), Route("metrics", "/metrics", metrics.handle)]
        self._router = Router(routes)
        self._handler = chain(https_filters(authenticator), self._router.dispatch)
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await answer(scope, send, self._router, self._handler, self._metrics)
        elif scope["type"] == "lifespan":
            await serve_lifespan(receive, send)

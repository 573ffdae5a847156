"""The plain-HTTP application: health probes, and a redirect for the rest.

Kubernetes clients send no credentials over plain HTTP, and no token should
cross a network in clear (DESIGN §3). So this app serves only the health
endpoints (for probes that cannot do TLS) and answers every other request
with a 308 to the same path and query on ``https://<host>:<https-port>``,
where ``<host>`` is the request's Host header without its port (or the
server's own host if the header is missing or malformed). It never reads
the ``Authorization`` header or a body, and never serves ``/metrics``. A
WebSocket upgrade is answered with the same redirect, before the handshake.
"""

from __future__ import annotations

import re

from corral.apiserver.asgi import AnyResponse, Receive, Request, Scope, Send, serve_lifespan
from corral.apiserver.handling import answer
from corral.apiserver.health import HealthChecks, health_routes
from corral.apiserver.metrics import HTTPMetrics
from corral.apiserver.pipeline import Router
from corral.apiserver.responses import redirect_response
from corral.apiserver.websocket import refuse

_HOST = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$")


class HTTPRedirectApp:
    """The ASGI app served on the plain-HTTP port."""

    def __init__(
        self, *, health: HealthChecks, metrics: HTTPMetrics, https_port: int, default_host: str
    ) -> None:
        self._router = Router(health_routes(health))
        self._https_port = https_port
        self._default_host = default_host
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await answer(scope, send, self._router, self._handle, self._metrics)
        elif scope["type"] == "websocket":
            if (await receive())["type"] == "websocket.connect":
                request = Request({**scope, "method": "GET"})
                await refuse(scope, send, redirect_response(self.location(request)))
                self._metrics.observe("GET", "redirect", 308, 0.0)
        elif scope["type"] == "lifespan":
            await serve_lifespan(receive, send)

    async def _handle(self, request: Request) -> AnyResponse:
        if request.route in ("livez", "readyz", "healthz"):
            return await self._router.dispatch(request)
        request.route = "redirect"
        return redirect_response(self.location(request))

    def location(self, request: Request) -> str:
        """The HTTPS URL for ``request``."""
        host = self._default_host
        for name, value in request.scope["headers"]:
            if name == b"host":
                match = _HOST.match(value.decode("latin-1"))
                if match:
                    host = match["host"]
                break
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        port = "" if self._https_port == 443 else f":{self._https_port}"
        raw_path = request.scope.get("raw_path") or request.path.encode()
        query = request.scope.get("query_string", b"")
        target = raw_path + (b"?" + query if query else b"")
        return f"https://{host}{port}{target.decode('latin-1')}"

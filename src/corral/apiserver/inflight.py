"""The limit on requests in flight: 429 with Retry-After instead of falling over.

Like kube-apiserver's ``--max-requests-inflight`` (read-only, default 800
here) and ``--max-mutating-requests-inflight`` (default 400): a request
over its limit is answered at once with 429 TooManyRequests and
``Retry-After: 1``. Long-running requests (watches, over HTTP or
WebSocket) are not counted, and neither are the health endpoints (probes
must always get through). A WebSocket upgrade is long-running whatever it
asks for: only watches are accepted (`corral.apiserver.websocket`), and
anything else is refused before any work.
"""

from __future__ import annotations

from corral.apiserver.asgi import AnyResponse, Request
from corral.apiserver.pipeline import Handler, is_public
from corral.apiserver.responses import status_response
from corral.machinery.status import TooManyRequests

READ_ONLY_LIMIT = 800
MUTATING_LIMIT = 400
_MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_watch(request: Request) -> bool:
    """A watch: ``?watch=true|1`` or a legacy ``/watch/`` path."""
    if "/watch/" in request.path:
        return True
    values = request.query.get("watch") or [""]
    return values[-1].lower() in ("true", "1")


#: Pod subresources Kubernetes counts as long-running (``BasicLongRunningRequestCheck``).
_LONG_RUNNING_POD_SUBRESOURCES = frozenset({"log", "exec", "attach", "portforward"})


def is_long_running(request: Request) -> bool:
    """Watches, pods' log/exec/attach/portforward, and any WebSocket upgrade."""
    if is_watch(request) or request.scope.get("type") == "websocket":
        return True
    parts = request.path.rstrip("/").rsplit("/", 3)
    return len(parts) == 4 and parts[1] == "pods" and parts[3] in _LONG_RUNNING_POD_SUBRESOURCES


class InFlightLimit:
    """A filter counting requests in flight, by kind."""

    def __init__(self, read_only: int = READ_ONLY_LIMIT, mutating: int = MUTATING_LIMIT) -> None:
        self._limits = {False: read_only, True: mutating}
        self._in_flight = {False: 0, True: 0}

    async def __call__(self, request: Request, next_handler: Handler) -> AnyResponse:
        if is_public(request.path) or is_long_running(request):
            return await next_handler(request)
        mutating = request.method in _MUTATING_METHODS
        if self._in_flight[mutating] >= self._limits[mutating]:
            response = status_response(TooManyRequests())
            response.headers.append((b"retry-after", b"1"))
            return response
        self._in_flight[mutating] += 1
        try:
            return await next_handler(request)
        finally:
            self._in_flight[mutating] -= 1

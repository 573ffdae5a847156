"""Answering one ASGI HTTP request: route, run the pipeline, send, measure.

Both apps (HTTPS and plain HTTP) answer requests the same way, so the shape
lives here once: the route is matched before any filter (so every answer,
even a 401, is measured under its route), the pipeline runs, a
`StatusError` becomes its ``Status`` response, a datastore that cannot be
reached (`DatastoreUnavailableError`) a 503 ServiceUnavailable saying so (the
client retries; the storage driver has written nothing half-way), and
anything else is a bug: it
is logged with its traceback and answered with a 500 ``Status`` whose message
reveals nothing.
"""

from __future__ import annotations

import logging
import time

from corral.apiserver.asgi import (
    AnyResponse,
    Receive,
    Request,
    Scope,
    Send,
    StreamingResponse,
    send_response,
    send_streaming,
)
from corral.apiserver.metrics import HTTPMetrics
from corral.apiserver.pipeline import Handler, Router
from corral.apiserver.responses import status_response
from corral.machinery.status import InternalError, ServiceUnavailable, StatusError
from corral.storage import DatastoreUnavailableError

log = logging.getLogger("corral.apiserver")


async def answer(
    scope: Scope,
    send: Send,
    router: Router,
    handler: Handler,
    metrics: HTTPMetrics,
    receive: Receive | None = None,
) -> None:
    """Answer the HTTP request in ``scope`` with ``handler`` and record it."""
    started = time.perf_counter()
    request = Request(scope, receive)
    router.match(request)
    try:
        response: AnyResponse = await handler(request)
    except StatusError as exc:
        response = status_response(exc)
    except DatastoreUnavailableError as exc:
        log.warning("request failed: %s", exc, extra={"route": request.route})
        # The client learns what happened; where the datastore is stays in the log.
        response = status_response(ServiceUnavailable("the datastore is unreachable; retry later"))
    except Exception:
        log.exception("request failed", extra={"method": request.method, "route": request.route})
        response = status_response(InternalError("unexpected server error; see the server log"))
    if isinstance(response, StreamingResponse):
        assert receive is not None
        metrics.observe(request.method, request.route, response.status, 0.0)
        with metrics.long_running(request.route, "http"):
            await send_streaming(send, receive, response)
        return
    await send_response(send, response)
    metrics.observe(request.method, request.route, response.status, time.perf_counter() - started)

"""Reading an answer: the decoded object, or the `StatusError` a failed answer means.

A failed answer (HTTP status of 400 or more) whose body is a ``Status``
becomes `StatusError.from_status` of it: the most specific subclass for its
reason and code. Some failures come from something other than the API
server proper (a proxy, a load balancer, a non-Kubernetes endpoint) and
carry HTML or plain text; for those a ``Status`` is synthesized from the
HTTP status as client-go does, with a message saying what the code means
and the start of the body, so the caller still catches ``NotFound``,
``ServiceUnavailable``…

A successful answer must be a JSON object; anything else is a `DecodeError`.
"""

from __future__ import annotations

from typing import Any

import orjson

from corral.client.errors import DecodeError
from corral.machinery.status import Reason, StatusError

_REASONS: dict[int, tuple[Reason, str]] = {
    400: (Reason.BAD_REQUEST, "the server rejected our request for an unknown reason"),
    401: (Reason.UNAUTHORIZED, "the server has asked for the client to provide credentials"),
    403: (Reason.FORBIDDEN, "the server does not allow access to the requested resource"),
    404: (Reason.NOT_FOUND, "the server could not find the requested resource"),
    405: (Reason.METHOD_NOT_ALLOWED, "the server does not allow this method on the resource"),
    406: (Reason.NOT_ACCEPTABLE, "the server was unable to respond with a supported content type"),
    409: (Reason.CONFLICT, "the server reported a conflict"),
    410: (Reason.GONE, "the server no longer has the requested resource"),
    413: (Reason.REQUEST_ENTITY_TOO_LARGE, "the request entity is too large"),
    415: (Reason.UNSUPPORTED_MEDIA_TYPE, "the server does not accept the request's content type"),
    422: (Reason.INVALID, "the server rejected our request due to an error in our request"),
    429: (Reason.TOO_MANY_REQUESTS, "the server has received too many requests"),
    500: (
        Reason.INTERNAL_ERROR,
        "an error on the server has prevented the request from succeeding",
    ),
    503: (Reason.SERVICE_UNAVAILABLE, "the server is currently unable to handle the request"),
    504: (Reason.TIMEOUT, "the server was unable to return a response in the time allotted"),
}
_BODY_PREVIEW = 200


def status_error(status: int, body: bytes) -> StatusError:
    """The error a failed answer means: its ``Status``, or one made up from the HTTP status."""
    doc = _json(body)
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        if not isinstance(doc.get("code"), int) or not doc.get("code"):
            doc = {**doc, "code": status}
        return StatusError.from_status(doc)
    reason, message = _REASONS.get(
        status,
        (
            Reason.INTERNAL_ERROR if status >= 500 else Reason.UNKNOWN,
            f"an error on the server (code {status}) has prevented the request from succeeding",
        ),
    )
    preview = body[:_BODY_PREVIEW].decode("utf-8", "replace").strip()
    if preview:
        message = f"{message} ({preview})"
    return StatusError.from_status(
        {
            "kind": "Status",
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": status,
        }
    )


def decode_object(body: bytes, what: str) -> dict[str, Any]:
    """A successful answer's JSON object."""
    doc = _json(body)
    if not isinstance(doc, dict):
        raise DecodeError(f"{what}: the answer is not a JSON object")
    return doc


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None

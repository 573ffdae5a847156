"""Building responses: Status JSON, plain text and redirects, encoded with orjson.

Failures are always a Kubernetes ``Status`` (`status_response`), so clients
parse one shape; health output is plain text, as Kubernetes serves it.
"""

from __future__ import annotations

from typing import Any

import orjson

from corral.apiserver.asgi import Response
from corral.machinery.status import StatusError

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"


def json_response(status: int, body: Any) -> Response:
    """``body`` as JSON."""
    return Response(status, orjson.dumps(body), JSON)


def status_response(error: StatusError) -> Response:
    """The ``Status`` object for ``error``, with its HTTP code."""
    return json_response(error.code, error.to_status())


def text_response(status: int, text: str) -> Response:
    """Plain UTF-8 text."""
    return Response(status, text.encode(), TEXT)


def redirect_response(location: str, status: int = 308) -> Response:
    """A redirect (308 keeps the method and body) with an empty body."""
    return Response(status, b"", TEXT, [(b"location", location.encode("latin-1"))])

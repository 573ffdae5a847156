"""When a failed request is sent again, and how long to wait first.

The rules, after client-go's, with one safety rule for writes:

- An answer of 429 or 5xx that says when to come back (a ``Retry-After``
  header in whole or fractional seconds, or else a ``Status`` body with
  ``details.retryAfterSeconds``) is retried for every verb, after that
  wait (capped at ``max_retry_after``): the server asked for it, and it did
  not act on the request. Without such a hint the failure is returned.
- No answer at all (connection refused or dropped, timeout) is retried only
  when sending twice cannot do harm: reads, and writes that carry a
  resourceVersion precondition (the second copy fails with Conflict instead
  of acting twice). A blind create is never retried: the first copy may
  have made the object. The wait grows exponentially from ``base_delay`` to
  ``max_delay``.
- ``max_attempts`` bounds the attempts of one call, whatever the cause; the
  last failure is then returned (an answer) or raised (`ConnectionFailed`,
  `RequestTimeout`).

``sleep`` is injectable so that tests run with fake time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from corral.client.errors import ConnectionFailed, RequestTimeout
from corral.client.transport import Response

log = logging.getLogger("corral.client")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one call is retried."""

    max_attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 3.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep, compare=False)

    def backoff(self, attempt: int) -> float:
        """The wait after the ``attempt``-th (1-based) attempt failed without an answer."""
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


NO_RETRIES = RetryPolicy(max_attempts=1)


def retry_after(status: int, headers: Mapping[str, str], body: bytes) -> float | None:
    """Seconds the server asked us to wait before retrying, or None if it did not ask."""
    if status != 429 and status < 500:
        return None
    header = headers.get("retry-after", "").strip()
    if header:
        try:
            seconds = float(header)
        except ValueError:
            seconds = -1.0
        if seconds >= 0:
            return seconds
    try:
        doc = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        details = doc.get("details")
        value = details.get("retryAfterSeconds") if isinstance(details, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


async def send_with_retries(
    policy: RetryPolicy,
    send: Callable[[], Awaitable[Response]],
    *,
    idempotent: bool,
    what: str,
) -> Response:
    """The answer to ``send()``, retried as the module rules say."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await send()
        except (ConnectionError, TimeoutError) as exc:
            if not idempotent or attempt >= policy.max_attempts:
                raise as_client_error(exc, what) from None
            delay = policy.backoff(attempt)
            log.info(
                "retrying request=%r attempt=%d error=%s delay=%.2f",
                what,
                attempt,
                type(exc).__name__,
                delay,
            )
            await policy.sleep(delay)
            continue
        wait = retry_after(response.status, response.headers, response.body)
        if wait is None or attempt >= policy.max_attempts:
            return response
        delay = min(wait, policy.max_retry_after)
        log.info(
            "retrying request=%r attempt=%d status=%d retry_after=%.2f",
            what,
            attempt,
            response.status,
            delay,
        )
        await policy.sleep(delay)


def as_client_error(exc: ConnectionError | TimeoutError, what: str) -> Exception:
    if isinstance(exc, (ConnectionFailed, RequestTimeout)):
        return exc
    if isinstance(exc, TimeoutError):
        return RequestTimeout(f"{what}: timed out: {exc}")
    return ConnectionFailed(f"{what}: {type(exc).__name__}: {exc}")

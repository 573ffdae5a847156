"""`Watch`: an async iterator of watch events that survives the end of each stream.

A watch stream ends often and for ordinary reasons: ``timeoutSeconds``
elapsed, the server restarted or shed load, a proxy cut an idle connection.
`Watch` hides that, exactly once:

- It remembers the ``resourceVersion`` of the last event it saw, BOOKMARKs
  included (bookmarks are requested for that reason), and reopens the stream
  from there, so the caller gets every later event once, none twice.
- A stream started without a resourceVersion (or with ``"0"``) begins with
  ADDED events for the current objects; if it ends before any event, it is
  reopened the same way. Callers that need an exact start list first and
  pass the list's resourceVersion.
- When the server can no longer resume (an ``ERROR`` event with a 410
  Status, or a 410 answer), the iterator raises the server's error,
  `Expired` (a `Gone`): the caller must re-list. Events are never silently
  skipped. Any other ``ERROR`` event is raised as its `StatusError`.
- ``timeout_seconds`` is sent as ``timeoutSeconds``: it bounds each stream.
  With ``resume=False`` the iterator ends when the (first) stream ends, so
  it bounds the whole watch.
- A dropped connection, or a 429/5xx answer with Retry-After, is retried
  with the client's `RetryPolicy`; ``max_attempts`` consecutive failures
  without an opened stream raise `ConnectionFailed`/`RequestTimeout`/the
  `StatusError`. A stream that ends within a second without any event is
  reopened after the policy's backoff (growing while it repeats), so a
  server or proxy that closes streams at once cannot make the watch spin.

Use it as ``async with client.watch(...) as events: async for type_, obj in events``
so the stream is closed when the block ends.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any, NamedTuple

import orjson

from corral.client.errors import DecodeError
from corral.client.responses import status_error
from corral.client.retry import RetryPolicy, as_client_error, retry_after
from corral.client.transport import Query, Transport
from corral.machinery.status import StatusError

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"
_ACCEPT = {"Accept": "application/json"}
_QUICK = 1.0  # seconds: a stream ending sooner without events counts as idle


class WatchEvent(NamedTuple):
    """One change: ``type`` (ADDED, MODIFIED, DELETED, BOOKMARK) and the object."""

    type: str
    object: dict[str, Any]


class Watch:
    """Events of one collection, from ``resource_version`` on, across stream ends."""

    def __init__(
        self,
        transport: Transport,
        path: str,
        params: Query,
        *,
        resource_version: str | None,
        timeout_seconds: int | None,
        bookmarks: bool,
        resume: bool,
        policy: RetryPolicy,
    ) -> None:
        self._transport = transport
        self._path = path
        self._params = list(params)
        self.resource_version = resource_version
        """The resourceVersion the watch would resume from now."""
        self._timeout = timeout_seconds
        self._bookmarks = bookmarks
        self._resume = resume
        self._policy = policy
        self._events: AsyncGenerator[WatchEvent, None] | None = None
        self.streams = 0
        """How many streams have been opened (1 + resumptions)."""

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        if self._events is None:
            self._events = self._run()
        return self._events

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: close the open stream, if any."""
        if self._events is not None:
            await self._events.aclose()

    def _query(self) -> list[tuple[str, str]]:
        q = [*self._params, ("watch", "true"), ("allowWatchBookmarks", "true")]
        if self.resource_version:
            q.append(("resourceVersion", self.resource_version))
        if self._timeout is not None:
            q.append(("timeoutSeconds", str(self._timeout)))
        return q

    async def _run(self) -> AsyncGenerator[WatchEvent, None]:
        failures = 0  # consecutive failures to get a stream
        idle = 0  # consecutive streams that ended at once without a single event
        while True:
            delivered, opened = 0, time.monotonic()
            try:
                async with self._transport.stream(
                    "GET", self._path, self._query(), _ACCEPT
                ) as response:
                    if response.status != 200:
                        body = await response.read()
                        wait = retry_after(response.status, response.headers, body)
                        failures += 1
                        if wait is None or failures >= self._policy.max_attempts:
                            raise status_error(response.status, body)
                        await self._policy.sleep(min(wait, self._policy.max_retry_after))
                        continue
                    failures = 0
                    self.streams += 1
                    async for line in response.lines():
                        event = self._parse(line)
                        if event is None:
                            continue
                        delivered += 1
                        if event.type != BOOKMARK or self._bookmarks:
                            yield event
            except (ConnectionError, TimeoutError) as exc:
                failures += 1
                if failures >= self._policy.max_attempts:
                    raise as_client_error(exc, f"watch {self._path}") from None
                await self._policy.sleep(self._policy.backoff(failures))
                continue
            if not self._resume:
                return
            idle = idle + 1 if not delivered and time.monotonic() - opened < _QUICK else 0
            if idle:
                # A server or proxy ending streams at once must not make us spin.
                await self._policy.sleep(self._policy.backoff(idle))

    def _parse(self, line: bytes) -> WatchEvent | None:
        if not line.strip():
            return None
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise DecodeError(f"watch {self._path}: an event is not JSON") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("object"), dict):
            raise DecodeError(f"watch {self._path}: an event has no object")
        kind, obj = str(doc.get("type", "")), doc["object"]
        if kind == ERROR:
            raise _error_event(obj)
        meta = obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if isinstance(version, str) and version:
            self.resource_version = version
        return WatchEvent(kind, obj)


def _error_event(obj: dict[str, Any]) -> StatusError:
    if obj.get("kind") == "Status":
        code = obj.get("code")
        return status_error(
            code if isinstance(code, int) and code >= 400 else 500, orjson.dumps(obj)
        )
    return status_error(500, orjson.dumps(obj))

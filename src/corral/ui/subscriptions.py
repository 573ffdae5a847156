"""``/v3/subscribe``: many watches over one WebSocket, for the console's live lists.

A browser opens at most six HTTP/1.1 connections to one origin, so a page
that showed each live list through its own HTTP watch would starve. The
console opens this one socket instead and multiplexes (the client side and
the message format: ``web/src/api/subscribe.ts``). What this module decides:

- **Same rules as an HTTP watch.** The upgrade passes the HTTPS pipeline like
  any request (a session cookie or a token; a cookie-authenticated upgrade
  must come from the server's own ``Origin``). Each subscription is then a
  ``GET <path>?watch=1`` dispatched in-process to the HTTPS app
  (`corral.apiserver.LoopbackTransport` without a token of its own) with the
  caller's credentials: the caller's ``Authorization``/``Cookie`` headers,
  and the ``Impersonate-*`` headers of an impersonated upgrade rebuilt from
  the user it acts as. Authentication, RBAC, audit and (for
  ``/k8s/clusters/<id>/…``) the cluster proxy apply exactly as over HTTP: one
  code path for local and proxied lists, and a user without ``list``/``watch``
  rights gets an ``ERROR`` 403 for that subscription only.
- **What may be watched.** Only collection paths of the Kubernetes API:
  ``/api/…`` and ``/apis/…``, or the same under ``/k8s/clusters/<id>``
  (`collection_path`); anything else is an ``ERROR`` 400 for that id.
- **Events.** Each watch event is forwarded as ``{"id", "type", "object"}``
  (the event's JSON spliced, never re-encoded). ``"table": true`` asks for
  ``application/json;as=Table;v=v1;g=meta.k8s.io``, as ``kubectl get -w``
  does. A refused watch (its HTTP status) or an ``ERROR`` event (410 Expired)
  is sent as an ``ERROR`` whose object is the ``Status``, and ends that
  subscription. A watch that ends normally (its timeout, a watcher that fell
  behind) is resumed from the last ``resourceVersion`` sent.
- **Limits** (`Limits`). At most 100 subscriptions per socket (more: ``ERROR``
  429), ids of at most 64 characters, client messages of at most 16 KiB. The
  frames waiting to be written are bounded (count and bytes): a client that
  does not read is disconnected when they overflow, never buffered without
  end; it reconnects and resumes from its last resourceVersions.
- **End.** ``unsubscribe`` stops that watch (its in-process request sees the
  client go); closing the socket stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import orjson

from corral.apiserver.asgi import AnyResponse, ASGIApp, Message, Request, StreamingResponse
from corral.apiserver.impersonation import EXTRA, GROUP, UID, USER
from corral.apiserver.loopback import LoopbackTransport
from corral.apiserver.pipeline import Route
from corral.apiserver.requestinfo import parse_request_info
from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo
from corral.machinery.status import (
    BadRequest,
    InternalError,
    ServiceUnavailable,
    StatusError,
    TooManyRequests,
)

log = logging.getLogger("corral.ui")

PATH: Final = "/v3/subscribe"
TABLE_ACCEPT: Final = "application/json;as=Table;v=v1;g=meta.k8s.io"
#: Headers of the upgrade that carry over to each in-process watch.
FORWARDED_HEADERS: Final = frozenset({"authorization", "cookie", "user-agent", "host"})

_PROXIED: Final = re.compile(r"^/k8s/clusters/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)(/.*)$")
_SA_PREFIX: Final = "system:serviceaccount:"


@dataclass(frozen=True, slots=True)
class Limits:
    """What one socket may hold."""

    subscriptions: int = 100
    id_length: int = 64
    message_bytes: int = 16 * 1024
    #: Frames waiting for the client: beyond either bound it is disconnected.
    pending_frames: int = 10_000
    pending_bytes: int = 16 * 1024 * 1024
    #: A watch that ended sooner than this after it started is resumed only
    #: after the same delay (a watch that keeps ending at once must not spin).
    resume_delay: float = 1.0


@dataclass(frozen=True, slots=True)
class Subscription:
    """One ``subscribe`` message, checked."""

    id: str
    path: str
    resource_version: str = ""
    label_selector: str = ""
    field_selector: str = ""
    table: bool = False


def collection_path(path: str) -> bool:
    """True for a collection of the Kubernetes API, Corral's own or a cluster's
    through the proxy (``/k8s/clusters/<id>/api…``)."""
    proxied = _PROXIED.match(path)
    api_path = proxied.group(3) if proxied else path
    if not (api_path.startswith(("/api/", "/apis/"))) or "?" in api_path:
        return False
    info = parse_request_info("GET", api_path, {})
    return info.is_resource_request and info.verb == "list" and not info.subresource


def parse_subscribe(message: Mapping[str, Any], limits: Limits) -> Subscription:
    """The subscription a ``subscribe`` message asks for; `BadRequest` naming the field."""
    fields: dict[str, str] = {}
    for name in ("path", "resourceVersion", "labelSelector", "fieldSelector"):
        value = message.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise BadRequest(f"{name}: must be a string")
        fields[name] = value
    table = message.get("table", False)
    if not isinstance(table, bool):
        raise BadRequest("table: must be true or false")
    if not fields["path"]:
        raise BadRequest("path: required")
    if not collection_path(fields["path"]):
        raise BadRequest(
            f"path: {fields['path']!r} is not a collection of the Kubernetes API "
            "(/api/…, /apis/… or /k8s/clusters/<id>/api…)"
        )
    return Subscription(
        id=str(message["id"]),
        path=fields["path"],
        resource_version=fields["resourceVersion"],
        label_selector=fields["labelSelector"],
        field_selector=fields["fieldSelector"],
        table=table,
    )


def impersonation_headers(user: UserInfo) -> list[tuple[str, str]]:
    """The ``Impersonate-*`` headers that make a request act as ``user`` again
    (the inverse of `corral.apiserver.impersonation.impersonated_user`)."""
    headers = [(USER, user.name)]
    implied = {AUTHENTICATED_GROUP, "system:unauthenticated"}
    if user.name.startswith(_SA_PREFIX) and user.name.count(":") == 3:
        namespace = user.name.split(":")[2]
        sa_groups = {"system:serviceaccounts", f"system:serviceaccounts:{namespace}"}
        if sa_groups <= set(user.groups) and len(set(user.groups) - sa_groups - implied) == 0:
            implied |= sa_groups
    headers += [(GROUP, g) for g in user.groups if g not in implied]
    if user.uid:
        headers.append((UID, user.uid))
    for key, values in user.extra.items():
        headers += [(EXTRA + quote(key, safe=""), v) for v in values]
    return headers


def caller_headers(request: Request) -> list[tuple[str, str]]:
    """The headers that make an in-process request the caller's own."""
    out = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in request.scope.get("headers", [])
        if name.decode("latin-1").lower() in FORWARDED_HEADERS
    ]
    if request.impersonator is not None and request.user is not None:
        out += impersonation_headers(request.user)
    return out


class SubscriptionEndpoint:
    """The ``/v3/subscribe`` route; `bind` it to the HTTPS app it dispatches to."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._transport: LoopbackTransport | None = None

    def bind(self, app: ASGIApp) -> None:
        """Dispatch the watches to ``app`` (the HTTPS app serving this route)."""
        self._transport = LoopbackTransport(app, None, "corral-console")

    def route(self) -> Route:
        return Route("subscribe", PATH, self.handle, websocket=True)

    async def handle(self, request: Request) -> AnyResponse:
        if request.scope.get("type") != "websocket":
            raise BadRequest(f"{PATH} is a WebSocket endpoint: connect with a WebSocket client")
        if self._transport is None:
            raise ServiceUnavailable("subscriptions are not ready yet; retry")
        session = Session(self._transport, caller_headers(request), self.limits)
        return StreamingResponse(
            200,
            session.frames(),
            content_type=b"application/json",
            on_message=session.receive,
            abandon=session.abandoned,
        )


class Session:
    """One socket: its subscriptions and the frames waiting to be sent."""

    def __init__(
        self, transport: LoopbackTransport, headers: list[tuple[str, str]], limits: Limits
    ) -> None:
        self._transport = transport
        self._headers = headers
        self._limits = limits
        self._watches: dict[str, asyncio.Task[None]] = {}
        self._frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._pending_bytes = 0
        self._closed = False
        #: Set when the client fell behind: the socket is dropped at once.
        self.abandoned = asyncio.Event()

    async def frames(self) -> AsyncIterator[bytes]:
        """The frames to send, until the socket closes or the client falls behind."""
        try:
            while not self.abandoned.is_set() and (frame := await self._frames.get()) is not None:
                self._pending_bytes -= len(frame)
                yield frame
        finally:
            await self._close()

    async def receive(self, message: Message) -> None:
        """One client message: subscribe or unsubscribe."""
        if self._closed:
            return
        raw = message.get("text")
        data = raw.encode() if isinstance(raw, str) else (message.get("bytes") or b"")
        if len(data) > self._limits.message_bytes:
            self._error("", BadRequest(f"message larger than {self._limits.message_bytes} bytes"))
            return
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            self._error("", BadRequest("messages must be JSON objects"))
            return
        if not isinstance(parsed, dict):
            self._error("", BadRequest("messages must be JSON objects"))
            return
        sub_id = parsed.get("id")
        if not isinstance(sub_id, str) or not sub_id:
            self._error("", BadRequest("id: required, a string"))
            return
        if len(sub_id) > self._limits.id_length:
            self._error(sub_id, BadRequest(f"id: longer than {self._limits.id_length} characters"))
            return
        op = parsed.get("op")
        if op == "unsubscribe":
            await self._stop(sub_id)
        elif op == "subscribe":
            await self._subscribe(sub_id, parsed)
        else:
            self._error(sub_id, BadRequest('op: must be "subscribe" or "unsubscribe"'))

    async def _subscribe(self, sub_id: str, message: Mapping[str, Any]) -> None:
        try:
            sub = parse_subscribe(message, self._limits)
        except StatusError as exc:
            self._error(sub_id, exc)
            return
        await self._stop(sub_id)  # the same id again replaces its subscription
        if len(self._watches) >= self._limits.subscriptions:
            self._error(
                sub_id,
                TooManyRequests(
                    f"at most {self._limits.subscriptions} subscriptions per connection"
                ),
            )
            return
        task = asyncio.create_task(self._watch(sub), name=f"subscription {sub_id}")
        self._watches[sub_id] = task
        task.add_done_callback(lambda done: self._forget(sub_id, done))

    def _forget(self, sub_id: str, task: asyncio.Task[None]) -> None:
        if self._watches.get(sub_id) is task:
            del self._watches[sub_id]

    async def _stop(self, sub_id: str) -> None:
        task = self._watches.pop(sub_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, sub: Subscription) -> None:
        """Watch ``sub`` until it errs or is stopped, resuming when a watch ends."""
        resource_version = sub.resource_version
        headers = list(self._headers)
        if sub.table:
            headers.append(("accept", TABLE_ACCEPT))
        prefix = b'{"id":' + orjson.dumps(sub.id) + b","
        try:
            while True:
                started = time.monotonic()
                query = [("watch", "1"), ("allowWatchBookmarks", "true")]
                if resource_version:
                    query.append(("resourceVersion", resource_version))
                if sub.label_selector:
                    query.append(("labelSelector", sub.label_selector))
                if sub.field_selector:
                    query.append(("fieldSelector", sub.field_selector))
                async with self._transport.stream("GET", sub.path, query, headers) as stream:
                    if stream.status != 200:
                        self._refused(sub.id, stream.status, await stream.read())
                        return
                    async for line in stream.lines():
                        line = line.strip()
                        if not line.startswith(b"{"):
                            continue
                        event = orjson.loads(line)
                        if not self._emit(prefix + line[1:]):
                            return
                        if event.get("type") == "ERROR":
                            return
                        resource_version = _resource_version(event) or resource_version
                ended_after = time.monotonic() - started
                if ended_after < self._limits.resume_delay:
                    await asyncio.sleep(self._limits.resume_delay - ended_after)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription failed", extra={"path": sub.path})
            self._error(sub.id, InternalError("the subscription failed; see the server log"))

    def _refused(self, sub_id: str, status: int, body: bytes) -> None:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("kind") == "Status":
            self._emit_status(sub_id, parsed)
            return
        message = body.decode("utf-8", "replace").strip()[:200] or f"HTTP {status}"
        self._emit_status(
            sub_id,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "code": status,
            },
        )

    def _error(self, sub_id: str, error: StatusError) -> None:
        self._emit_status(sub_id, error.to_status())

    def _emit_status(self, sub_id: str, status: Mapping[str, Any]) -> None:
        self._emit(orjson.dumps({"id": sub_id, "type": "ERROR", "object": status}))

    def _emit(self, frame: bytes) -> bool:
        """Queue ``frame``; False (and the socket is being closed) if the client
        fell behind or the socket is closing."""
        if self._closed:
            return False
        limits = self._limits
        if (
            self._frames.qsize() >= limits.pending_frames
            or self._pending_bytes + len(frame) > limits.pending_bytes
        ):
            log.warning(
                "subscription client is not reading; disconnecting it",
                extra={
                    "pending_frames": self._frames.qsize(),
                    "pending_bytes": self._pending_bytes,
                },
            )
            self._closed = True
            for task in self._watches.values():
                task.cancel()
            self.abandoned.set()
            self._frames.put_nowait(None)  # what is queued is never sent
            return False
        self._frames.put_nowait(frame)
        self._pending_bytes += len(frame)
        return True

    async def _close(self) -> None:
        self._closed = True
        tasks = list(self._watches.values())
        self._watches.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


def _resource_version(event: Mapping[str, Any]) -> str:
    obj = event.get("object")
    if not isinstance(obj, dict):
        return ""
    metadata = obj.get("metadata")
    rv = metadata.get("resourceVersion", "") if isinstance(metadata, dict) else ""
    return rv if isinstance(rv, str) else ""

"""In-process loopback: Corral's own controllers call the API without HTTP.

DESIGN §2 "stay in process": controllers inside the server must not talk to
the server over TCP and TLS, yet they must get exactly the semantics an
external client gets — routing, authentication, (later) authorization and
admission, validation, watch streams. So a loopback request is handed to the
very ASGI app uvicorn calls, as an ASGI ``http`` scope built here, and the
answer is collected from the ASGI messages.

Identity: each component gets its own named system user (e.g.
``system:kube-controller-manager``). `LoopbackAuthenticator` mints a random
token per identity that exists only in this process's memory; the transport
sends it as a bearer token, so a loopback request passes the same
authentication filter as any other and is authorized as that user.

`LoopbackTransport` satisfies `corral.client`'s ``Transport`` protocol
structurally (this package must not import ``corral.client``):
``request`` returns a whole answer; ``stream`` runs the app as a task and
hands over body chunks line by line as they are sent (watches); leaving the
stream's context tells the app the client disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from corral.apiserver.asgi import ASGIApp, Message, Scope
from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo

_STREAM_BUFFER = 256  # body chunks buffered before the app waits for the reader


class LoopbackAuthenticator:
    """Accepts the in-memory tokens of loopback identities (and nothing else).

    Tokens are looked up by their SHA-256, so a request costs one hash and one
    dict lookup however many identities exist, and no comparison of the
    secret itself can leak its prefix through timing.
    """

    def __init__(self) -> None:
        self._users: dict[bytes, UserInfo] = {}

    def issue(self, name: str, groups: Sequence[str] = ()) -> str:
        """A fresh token for the system user ``name``; valid for this process's life."""
        token = secrets.token_urlsafe(32)
        user = UserInfo(name=name, groups=(*groups, AUTHENTICATED_GROUP))
        self._users[hashlib.sha256(token.encode()).digest()] = user
        return token

    async def authenticate(self, headers: Mapping[str, str]) -> UserInfo | None:
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self._users.get(hashlib.sha256(token.strip().encode()).digest())


@dataclass(frozen=True, slots=True)
class LoopbackResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


#: Request headers: a mapping, or name/value pairs when a name repeats.
Headers = Mapping[str, str] | Sequence[tuple[str, str]]


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _scope(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Headers,
    token: str | None,
) -> Scope:
    raw_headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in _pairs(headers)]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "https",
        "path": path,
        "raw_path": quote(path).encode(),
        "query_string": urlencode(list(query)).encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("loopback", 0),
        "server": ("loopback", 0),
        "extensions": {},
    }


def _headers(message: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in message.get("headers", []):
        out[name.decode("latin-1").lower()] = value.decode("latin-1")
    return out


@dataclass(slots=True)
class _Exchange:
    """One request's ASGI conversation: the body in, the answer's messages out."""

    body: bytes
    started: asyncio.Future[Message] = field(default_factory=asyncio.Future)
    chunks: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(_STREAM_BUFFER)
    )
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    _sent_body: bool = False

    async def receive(self) -> Message:
        if not self._sent_body:
            self._sent_body = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if not self.started.done():
                self.started.set_result(message)
        elif message["type"] == "http.response.body":
            if self.disconnected.is_set():
                raise OSError("loopback client disconnected")
            chunk = message.get("body", b"")
            if chunk:
                await self.chunks.put(chunk)
            if not message.get("more_body", False):
                await self.chunks.put(None)


class _Stream:
    def __init__(self, status: int, headers: Mapping[str, str], exchange: _Exchange) -> None:
        self.status = status
        self.headers = headers
        self._exchange = exchange
        self._ended = False

    async def _chunks(self) -> AsyncIterator[bytes]:
        while not self._ended:
            chunk = await self._exchange.chunks.get()
            if chunk is None:
                self._ended = True
                return
            yield chunk

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self._chunks()])

    async def lines(self) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in self._chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line
        if pending:
            yield pending


class LoopbackTransport:
    """Carries a `corral.client.Client`'s requests straight into the ASGI ``app``.

    Without a ``token`` the requests carry only the credentials in their own
    headers: a request made on behalf of an outside caller (the console's
    subscriptions), authenticated and authorized as that caller.
    """

    def __init__(self, app: ASGIApp, token: str | None, user_agent: str = "corral") -> None:
        self._app = app
        self._token = token
        #: Sent unless a request names its own: the field manager of its writes.
        self._user_agent = {"user-agent": user_agent}
        self._tasks: set[asyncio.Task[None]] = set()

    def _start(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Headers | None,
        body: bytes | None,
    ) -> tuple[_Exchange, asyncio.Task[None]]:
        exchange = _Exchange(body or b"")
        named = [(k.lower(), v) for k, v in _pairs(headers or {})]
        if not any(k == "user-agent" for k, _ in named):
            named = [*self._user_agent.items(), *named]
        scope = _scope(method, path, query, named, self._token)
        task = asyncio.create_task(self._call(scope, exchange))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return exchange, task

    async def _call(self, scope: Scope, exchange: _Exchange) -> None:
        try:
            await self._app(scope, exchange.receive, exchange.send)
        except BaseException as exc:
            if not exchange.started.done():
                exchange.started.set_exception(ConnectionError(f"loopback request failed: {exc!r}"))
            raise
        finally:
            if not exchange.started.done():
                exchange.started.set_exception(ConnectionError("loopback app sent no answer"))
            if not exchange.disconnected.is_set():
                await exchange.chunks.put(None)  # the end; the reader is still reading

    async def request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> LoopbackResponse:
        exchange, task = self._start(method, path, query, headers, body)
        start = await exchange.started
        stream = _Stream(start["status"], _headers(start), exchange)
        data = await stream.read()
        with contextlib.suppress(BaseException):
            await task
        return LoopbackResponse(stream.status, stream.headers, data)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        headers: Headers | None = None,
    ) -> AsyncIterator[_Stream]:
        exchange, task = self._start(method, path, query, headers, None)
        try:
            start = await exchange.started
            yield _Stream(start["status"], _headers(start), exchange)
        finally:
            exchange.disconnected.set()
            # Unblock an app waiting to hand over a chunk nobody will read.
            while not exchange.chunks.empty():
                exchange.chunks.get_nowait()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

"""Forwarding between replicas: reaching a cluster whose tunnel another replica holds.

An agent keeps one tunnel, to whichever replica its connection reached. A
request for that cluster may land on any replica. The one without the tunnel
(B) forwards its streams to the holder (A, from the cluster's Lease,
`AgentPresence.holder`) over a *peer tunnel*: a tunnel `Session` over a
WebSocket from B to ``wss://<A's advertise URL>/v3/connect/peer``.

- **Authentication.** Replicas share their CA key through the datastore
  (docs/replicas.md). `peer_secret` derives a key from it (HMAC-SHA256 of
  the CA key file with a fixed label), sent in ``X-Corral-Peer`` and compared
  in constant time; failures count against the address like agent tokens.
  B verifies A's certificate against the shared CA and A's hostname.
- **Addressing.** A stream B opens names ``<cluster>@<host>`` and the port;
  A's `accept` opens a stream to ``host:port`` on that cluster's agent
  session and hands it back, so bytes flow B ⇄ A ⇄ agent ⇄ API, with TLS to
  the API end to end. A refuses clusters it does not hold (DialRefused).
- **Reuse.** B keeps one peer session per holder URL and opens a new one when
  it closed; all are closed at `PeerTunnels.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import ssl
from pathlib import Path
from typing import Final

import anyio.abc
from websockets.asyncio.client import connect

from corral.apiserver.asgi import Receive, Scope, Send
from corral.apiserver.responses import status_response
from corral.apiserver.websocket import refuse
from corral.auth import LoginRateLimiter
from corral.client.dialing import ClusterUnavailable
from corral.machinery.status import TooManyRequests, Unauthorized
from corral.management.connect import client_address, header
from corral.tunnel import (
    DialRefused,
    Session,
    SessionRegistry,
    TunnelError,
    TunnelMetrics,
    asgi_message_socket,
    websockets_message_socket,
)

log = logging.getLogger("corral.management.agents")

PEER_PATH: Final = "/v3/connect/peer"
PEER_HEADER: Final = "X-Corral-Peer"
PEER_LABEL: Final = b"corral/peer-tunnel/v1"
LIMIT_KEY: Final = "peer-connect"
OPEN_TIMEOUT: Final = 10.0


def peer_secret(ca_key_file: Path) -> str:
    """The secret replicas of one datastore share for peer tunnels (from the shared CA key)."""
    return hmac.new(ca_key_file.read_bytes(), PEER_LABEL, hashlib.sha256).hexdigest()


def stream_target(cluster: str, host: str) -> str:
    return f"{cluster}@{host}"


class PeerDialer:
    """A `Dialer` that reaches one cluster through the replica holding its tunnel."""

    def __init__(self, peers: PeerTunnels, url: str, cluster: str) -> None:
        self._peers, self._url, self._cluster = peers, url, cluster

    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        session = await self._peers.session(self._url)
        try:
            return await session.open_stream(stream_target(self._cluster, host), port)
        except TunnelError as exc:
            raise ClusterUnavailable(
                f"cluster {self._cluster}: through replica {self._url}: {exc}"
            ) from None


class PeerTunnels:
    """Both ends of peer tunnels: the ``/v3/connect/peer`` endpoint and the dialing side."""

    def __init__(
        self,
        agents: SessionRegistry,
        secret: str,
        ca_pem: bytes,
        limiter: LoginRateLimiter | None = None,
        *,
        metrics: TunnelMetrics | None = None,
    ) -> None:
        self._agents = agents
        self._metrics = metrics
        self._secret = secret
        self._context = ssl.create_default_context(cadata=ca_pem.decode())
        self._limiter = limiter or LoginRateLimiter()
        self._outgoing: dict[str, tuple[Session, asyncio.Task[None]]] = {}
        self._incoming: set[Session] = set()
        self._lock = asyncio.Lock()

    def dialer(self, url: str, cluster: str) -> PeerDialer:
        return PeerDialer(self, url, cluster)

    # -- dialing side ----------------------------------------------------

    async def session(self, url: str) -> Session:
        """The open peer session to ``url`` (opened now if there is none)."""
        async with self._lock:
            existing = self._outgoing.get(url)
            if existing is not None and not existing[0].closed:
                return existing[0]
            target = url.rstrip("/").replace("https://", "wss://", 1) + PEER_PATH
            try:
                conn = await connect(
                    target,
                    ssl=self._context,
                    additional_headers={PEER_HEADER: self._secret},
                    proxy=None,
                    compression=None,
                    max_size=16 * 1024 * 1024,
                    open_timeout=OPEN_TIMEOUT,
                    ping_interval=None,
                    user_agent_header="corral-peer",
                )
            except (OSError, TimeoutError, ssl.SSLError, Exception) as exc:
                raise ClusterUnavailable(
                    f"cannot reach replica {url}: {type(exc).__name__}"
                ) from None
            session = Session(
                websockets_message_socket(conn),
                name=f"peer:{url}",
                role="client",
                metrics=self._metrics,
            )
            task = asyncio.create_task(self._run_outgoing(url, session, conn), name=f"peer-{url}")
            self._outgoing[url] = (session, task)
            return session

    async def _run_outgoing(self, url: str, session: Session, conn: object) -> None:
        try:
            await session.run()
        except TunnelError as exc:
            log.info("peer tunnel closed", extra={"peer": url, "error": str(exc)})
        finally:
            with contextlib.suppress(Exception):
                await conn.close()  # type: ignore[attr-defined]
            current = self._outgoing.get(url)
            if current is not None and current[0] is session:
                del self._outgoing[url]

    # -- accepting side --------------------------------------------------

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one upgrade of ``/v3/connect/peer``."""
        if (await receive())["type"] != "websocket.connect":
            return
        address = client_address(scope)
        wait = self._limiter.retry_after(f"{LIMIT_KEY}:{address}", address)
        if wait:
            await refuse(scope, send, status_response(TooManyRequests(retry_after_seconds=wait)))
            return
        given = header(scope, PEER_HEADER.lower().encode())
        if not given or not hmac.compare_digest(given.encode(), self._secret.encode()):
            self._limiter.failed(f"{LIMIT_KEY}:{address}", address)
            await refuse(scope, send, status_response(Unauthorized("invalid peer credentials")))
            return
        await send({"type": "websocket.accept"})
        session = Session(
            asgi_message_socket(receive, send),
            name=f"peer:{address}",
            role="server",
            accept=self._accept,
            metrics=self._metrics,
        )
        self._incoming.add(session)
        try:
            await session.run()
        except TunnelError:
            pass
        finally:
            self._incoming.discard(session)

    async def _accept(self, host: str, port: int) -> anyio.abc.ByteStream:
        cluster, sep, target = host.partition("@")
        if not sep or not cluster or not target:
            raise DialRefused("peer streams name <cluster>@<host>")
        session = self._agents.get(cluster)
        if session is None:
            raise DialRefused(f"cluster {cluster}: its agent is not connected to this replica")
        return await session.open_stream(target, port)

    async def stop(self) -> None:
        sessions = [s for s, _ in self._outgoing.values()] + list(self._incoming)
        tasks = [t for _, t in self._outgoing.values()]
        for session in sessions:
            with contextlib.suppress(TunnelError):
                await session.close()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

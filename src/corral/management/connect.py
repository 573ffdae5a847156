"""The agents' WebSocket endpoints: ``/v3/connect/register`` and ``/v3/connect``.

These are not user requests: no user token, no session cookie, no CSRF. The
HTTPS app hands the upgrade to `ConnectEndpoints.serve` before its user
pipeline (like ``/v3-public``, they are reachable without a user), and this
module authenticates it with the registration token instead:

1. ``X-Corral-Token`` is looked up (`TokenLookup.cluster_for_token`,
   constant-time, indexed); an unknown or missing token is answered 401
   before the upgrade is accepted, and counts against the client's address
   (`LoginRateLimiter`): after a few failures an address must wait,
   exponentially longer, and is answered 429 with ``Retry-After`` — token
   guessing gets nowhere.
2. ``/v3/connect/register`` also carries ``X-Corral-Params``; bad params
   are a 400 naming the field, good ones are stored (`AgentCredentials`)
   before the upgrade is accepted. ``/v3/connect`` needs credentials already
   registered, else 428 ("register first"), and the agent registers again.
3. Accepted, the socket carries a tunnel `Session` (role ``server``) kept in
   the `SessionRegistry` under the cluster id (a newer session for the same
   cluster replaces the older); `AgentPresence` marks the cluster Connected
   and takes its Lease; when the session ends — the agent left, or the
   keepalive gave up — it is removed and, unless a newer session took its
   place, the cluster is marked Disconnected at once.

Neither the token nor the params are ever logged or echoed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final, Protocol

from corral.apiserver.asgi import Receive, Scope, Send
from corral.apiserver.responses import status_response
from corral.apiserver.websocket import refuse
from corral.auth import LoginRateLimiter
from corral.client import ClientError
from corral.machinery.status import (
    Reason,
    ServiceUnavailable,
    StatusError,
    TooManyRequests,
    Unauthorized,
)
from corral.management.agentcredentials import AgentCredentials, parse_params
from corral.management.agentpresence import AgentPresence
from corral.tunnel import (
    Session,
    SessionRegistry,
    TunnelError,
    TunnelMetrics,
    asgi_message_socket,
)

log = logging.getLogger("corral.management.agents")

REGISTER_PATH: Final = "/v3/connect/register"
CONNECT_PATH: Final = "/v3/connect"
TOKEN_HEADER: Final = b"x-corral-token"
PARAMS_HEADER: Final = b"x-corral-params"
#: The rate limiter's "username" prefix for agent token failures; the address follows it,
#: so that failures from one address never hold up agents connecting from others.
LIMIT_KEY: Final = "agent-connect"
BAD_TOKEN: Final = "invalid cluster registration token"  # noqa: S105 (a message)


class TokenLookup(Protocol):
    """Registration tokens by value (`management.RegistrationTokens`)."""

    async def cluster_for_token(self, token: str) -> str | None: ...


class PreconditionRequired(StatusError):
    """428: ``/v3/connect`` before the cluster's credentials were registered."""

    default_code, default_reason = 428, Reason.UNKNOWN


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ConnectEndpoints:
    """Serves agent tunnels; `bind` gives it the token index, credentials and presence."""

    def __init__(
        self,
        registry: SessionRegistry,
        limiter: LoginRateLimiter | None = None,
        *,
        metrics: TunnelMetrics | None = None,
    ) -> None:
        self.registry = registry
        self._metrics = metrics
        self._limiter = limiter or LoginRateLimiter()
        self._tokens: TokenLookup | None = None
        self._credentials: AgentCredentials | None = None
        self._presence: AgentPresence | None = None
        self._sessions: set[Session] = set()

    def bind(
        self, tokens: TokenLookup, credentials: AgentCredentials, presence: AgentPresence
    ) -> None:
        self._tokens, self._credentials, self._presence = tokens, credentials, presence

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one upgrade of ``/v3/connect`` or ``/v3/connect/register``."""
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            cluster = await self._admit(scope)
        except StatusError as exc:
            await refuse(scope, send, status_response(exc))
            return
        except ClientError as exc:
            log.warning("cannot admit an agent", extra={"error": str(exc)})
            await refuse(scope, send, status_response(ServiceUnavailable("try again")))
            return
        await send({"type": "websocket.accept"})
        socket = asgi_message_socket(receive, send)
        session = Session(socket, name=cluster, role="server", metrics=self._metrics)
        await self._run(cluster, session)

    async def close_all(self) -> None:
        """Close every agent tunnel (at shutdown)."""
        for session in list(self._sessions):
            with contextlib.suppress(TunnelError):
                await session.close()

    async def _admit(self, scope: Scope) -> str:
        """The cluster the upgrade authenticates as (its credentials stored); or a StatusError."""
        tokens, credentials = self._tokens, self._credentials
        if tokens is None or credentials is None:
            raise ServiceUnavailable("the server is starting")
        address = client_address(scope)
        wait = self._limiter.retry_after(f"{LIMIT_KEY}:{address}", address)
        if wait:
            raise TooManyRequests("too many invalid registration tokens", retry_after_seconds=wait)
        token = header(scope, TOKEN_HEADER)
        cluster = await tokens.cluster_for_token(token) if token else None
        if cluster is None:
            self._limiter.failed(f"{LIMIT_KEY}:{address}", address)
            log.info("refused an agent with an invalid token", extra={"client": address})
            raise Unauthorized(BAD_TOKEN)
        if scope.get("path", "").rstrip("/") == REGISTER_PATH:
            registered = parse_params(header(scope, PARAMS_HEADER))
            await credentials.store(cluster, registered)
            log.info("agent registered", extra={"cluster": cluster, "api": registered.address})
        elif not await credentials.exists(cluster):
            raise PreconditionRequired(f"cluster {cluster} has no registered agent: register first")
        return cluster

    async def _run(self, cluster: str, session: Session) -> None:
        presence = self._presence
        assert presence is not None
        self.registry.add(cluster, session)
        self._sessions.add(session)
        log.info("agent connected", extra={"cluster": cluster})
        runner = asyncio.create_task(session.run(), name=f"agent-session-{cluster}")
        try:
            try:  # the session serves while its presence is written
                await presence.connected(cluster)
            except (StatusError, ClientError) as exc:
                log.warning(
                    "cannot record the agent's connection",
                    extra={"cluster": cluster, "error": str(exc)},
                )
            await runner
        except TunnelError as exc:
            log.info("agent tunnel failed", extra={"cluster": cluster, "error": str(exc)})
        finally:
            if not runner.done():
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError, TunnelError):
                    await runner
            self.registry.remove(cluster, session)
            self._sessions.discard(session)
            with contextlib.suppress(TunnelError):
                await session.close()
            if self.registry.get(cluster) is None:
                log.info("agent disconnected", extra={"cluster": cluster})
                with contextlib.suppress(StatusError, ClientError):
                    await presence.disconnected(cluster)

"""The agent's side of the tunnel: dial, register, serve, reconnect.

`AgentConnection.run` keeps one WebSocket to the server open for as long as
the agent runs:

- the first successful dial goes to ``/v3/connect/register`` with
  ``X-Corral-Token`` and ``X-Corral-Params`` (`Declaration.params`); every
  later one to ``/v3/connect`` with the token only (the server kept the
  credentials). A refused token (401) sends the next attempt back to
  ``register``, and so does a 428 (the server has no credentials for it);
- every connection uses the pinned TLS context (`corral.agent.pinning`): a
  certificate the pinned CA did not sign, or one for another hostname, stops
  the agent with `UntrustedServer` before anything is sent;
- over the socket runs a tunnel `Session` (role ``client``) whose `accept`
  dials only the declared API ``host:port``; any other target is refused
  with `DialRefused` and nothing is connected;
- when the socket closes or a dial fails, the next attempt waits a jittered,
  growing delay (`Backoff`); a 401 is logged as such and retried slowly;
- `stop` (SIGTERM) closes the session and returns.

Logs name the server and the attempt, never the token or the parameters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from typing import Final

import anyio
import anyio.abc
import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from corral.agent.backoff import Backoff
from corral.agent.declaration import Declaration
from corral.agent.errors import UntrustedServer
from corral.tunnel import DialRefused, Session, TunnelError, websockets_message_socket

log = logging.getLogger("corral.agent")

REGISTER_PATH: Final = "/v3/connect/register"
CONNECT_PATH: Final = "/v3/connect"
TOKEN_HEADER: Final = "X-Corral-Token"  # noqa: S105 (a header name)
PARAMS_HEADER: Final = "X-Corral-Params"
OPEN_TIMEOUT: Final = 15.0
#: Larger than any tunnel frame; the tunnel bounds what it buffers itself.
MAX_MESSAGE: Final = 16 * 1024 * 1024


def websocket_url(server_url: str, path: str) -> str:
    """``https://host:port`` as the ``wss://`` URL of ``path`` (never a plain ``ws://``)."""
    base = server_url.rstrip("/")
    if not base.startswith("https://"):
        raise ValueError(f"the server URL must be https://, not {server_url!r}")
    return "wss://" + base.removeprefix("https://") + path


@dataclass(slots=True)
class AgentConnection:
    """One agent's tunnel to the server, kept open until `stop` is set."""

    server_url: str
    token: str = field(repr=False)
    declaration: Declaration
    context: ssl.SSLContext
    backoff: Backoff = field(default_factory=Backoff)
    name: str = "agent"
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: How many times a session was established (tests and the bench read it).
    connections: int = 0
    #: Set while a session is up.
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _registered: bool = False

    async def run(self) -> None:
        """Dial, serve and redial until `stop` is set; UntrustedServer stops it."""
        while not self.stop.is_set():
            delay = await self._attempt()
            if self.stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)

    async def _attempt(self) -> float:
        """One dial (and the session it carries); the delay before the next."""
        path = CONNECT_PATH if self._registered else REGISTER_PATH
        headers = {TOKEN_HEADER: self.token}
        if not self._registered:
            headers[PARAMS_HEADER] = self.declaration.params()
        url = websocket_url(self.server_url, path)
        try:
            async with connect(
                url,
                ssl=self.context,
                additional_headers=headers,
                proxy=None,
                compression=None,
                max_size=MAX_MESSAGE,
                open_timeout=OPEN_TIMEOUT,
                ping_interval=None,  # the tunnel's own keepalive watches the peer
                user_agent_header="corral-agent",
            ) as conn:
                self._registered = True
                self.backoff.reset()
                self.connections += 1
                log.info("connected to the server", extra={"server": self.server_url, "path": path})
                await self._serve(
                    Session(
                        websockets_message_socket(conn),
                        name=self.name,
                        accept=self.accept,
                        role="client",
                    )
                )
        except ssl.SSLCertVerificationError as exc:
            raise UntrustedServer(
                f"{self.server_url} presented a certificate the pinned CA does not accept "
                f"({exc.verify_message}); refusing to send the token (a proxy in the middle?)"
            ) from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 401:
                self._registered = False
                delay = self.backoff.refused()
                log.error(
                    "the server refused the registration token (the cluster was deleted or "
                    "its token revoked); retrying slowly",
                    extra={"server": self.server_url, "retry_in": round(delay, 1)},
                )
                return delay
            if status == 428:  # the server lost our registration: register again
                self._registered = False
            delay = self.backoff.next()
            log.warning(
                "the server refused the tunnel",
                extra={"server": self.server_url, "code": status, "retry_in": round(delay, 1)},
            )
            return delay
        except (
            OSError,
            TimeoutError,
            websockets.exceptions.WebSocketException,
            TunnelError,
        ) as exc:
            delay = self.backoff.next()
            log.warning(
                "cannot reach the server",
                extra={
                    "server": self.server_url,
                    "error": _describe(exc),
                    "retry_in": round(delay, 1),
                },
            )
            return delay
        finally:
            self.connected.clear()
        delay = self.backoff.next()
        if not self.stop.is_set():
            log.warning(
                "the tunnel closed; reconnecting",
                extra={"server": self.server_url, "retry_in": round(delay, 1)},
            )
        return delay

    async def _serve(self, session: Session) -> None:
        """Run ``session`` until its socket closes or `stop` is set."""
        self.connected.set()
        runner = asyncio.create_task(session.run(), name=f"{self.name}-session")
        stopper = asyncio.create_task(self.stop.wait(), name=f"{self.name}-stop")
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not runner.done():
                await session.close()
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
            with contextlib.suppress(asyncio.CancelledError, TunnelError):
                await runner

    async def accept(self, host: str, port: int) -> anyio.abc.ByteStream:
        """Dial ``host:port`` for the server: only the declared API address."""
        api_host, api_port = self.declaration.host_port
        if host.strip("[]").lower() != api_host.lower() or port != api_port:
            log.warning(
                "refused a dial outside the cluster's API", extra={"target": f"{host}:{port}"}
            )
            raise DialRefused(f"the agent dials only its cluster's API {api_host}:{api_port}")
        try:
            return await anyio.connect_tcp(api_host, api_port)
        except OSError as exc:
            raise DialRefused(
                f"cannot reach the cluster's API {api_host}:{api_port}: {exc.strerror or exc}"
            ) from None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

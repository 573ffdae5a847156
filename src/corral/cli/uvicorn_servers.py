"""uvicorn as a library: two servers on one loop, on sockets we bound.

uvicorn's `Server` normally installs its own signal handlers; with two
servers on one loop they would fight, so `QuietServer` leaves signals to
`corral.cli.serve`, which stops both by setting ``should_exit``; and it
does not let an idle TLS client hold up shutdown (see `QuietServer`). Each server
gets its own `Config`: lifespan off (the CLI owns start-up and shutdown),
no logging configuration of its own (records propagate to ours), no proxy
headers, no ``Server`` header, and — for HTTPS — our `ssl.SSLContext`, set
after ``Config.load()`` so that the renewer's in-place reloads are what
uvicorn serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator

import uvicorn

from corral.apiserver.asgi import ASGIApp

#: Seconds a closing TLS connection may wait for the client's close_notify.
CLOSE_NOTIFY_WAIT = 1.0


class QuietServer(uvicorn.Server):
    """A uvicorn server that installs no signal handlers and never hangs on TLS close."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def _wait_tasks_to_complete(self) -> None:
        # At shutdown uvicorn closes idle keep-alive connections; over TLS a
        # closing transport then waits up to 30 s for the client's close_notify,
        # which a client that keeps its pool open (a controller, the Python
        # client) never sends. A transport that is closing has nothing more to
        # send, so after a short wait it is aborted; requests in flight are
        # untouched (their transports are not closing) and keep the grace period.
        loop = asyncio.get_running_loop()
        closing_since: dict[int, float] = {}
        while self.server_state.connections and not self.force_exit:
            now = loop.time()
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is None or not transport.is_closing():
                    continue
                if now - closing_since.setdefault(id(connection), now) >= CLOSE_NOTIFY_WAIT:
                    transport.abort()
            await asyncio.sleep(0.1)
        await super()._wait_tasks_to_complete()


def make_server(app: ASGIApp, ssl_context: ssl.SSLContext | None, grace: int) -> QuietServer:
    """A server for ``app``; ``grace`` seconds for in-flight requests at shutdown."""
    config = uvicorn.Config(
        app,
        http="auto",
        ws="wsproto",
        lifespan="off",
        interface="asgi3",
        log_config=None,
        log_level=None,
        access_log=True,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=grace,
    )
    config.load()
    config.ssl = ssl_context
    return QuietServer(config)

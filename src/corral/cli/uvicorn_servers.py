"""uvicorn as a library: two servers on one loop, on sockets we bound.

uvicorn's `Server` normally installs its own signal handlers; with two
servers on one loop they would fight, so `QuietServer` leaves signals to
`corral.cli.serve`, which stops both by setting ``should_exit``. Each server
gets its own `Config`: lifespan off (the CLI owns start-up and shutdown),
no logging configuration of its own (records propagate to ours), no proxy
headers, no ``Server`` header, and — for HTTPS — our `ssl.SSLContext`, set
after ``Config.load()`` so that the renewer's in-place reloads are what
uvicorn serves.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import uvicorn

from corral.apiserver.asgi import ASGIApp


class QuietServer(uvicorn.Server):
    """A uvicorn server that installs no signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(app: ASGIApp, ssl_context: ssl.SSLContext | None, grace: int) -> QuietServer:
    """A server for ``app``; ``grace`` seconds for in-flight requests at shutdown."""
    config = uvicorn.Config(
        app,
        http="auto",
        ws="none",
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

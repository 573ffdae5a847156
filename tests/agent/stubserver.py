"""A tiny HTTPS server that serves ``/v3/settings/cacerts`` and records every request.

For the agent's pinning tests before (and apart from) a real management
server: it answers the CA request as Corral does (``{"value": "<PEM>"}``)
and anything else with 404, and keeps the raw bytes of every request
(`seen`) so a test can assert the token never reached it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

import orjson

from serverproc import free_port

from .tlsrelay import own_tls


class StubServer:
    """HTTPS on a loopback port, with its own CA (`ca_pem`)."""

    def __init__(self, directory: Path) -> None:
        self._context: ssl.SSLContext
        self._context, self.ca_pem = own_tls(directory)
        self.seen = bytearray()
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def __aenter__(self) -> StubServer:
        # 127.0.0.2 too: an address the certificate does not name (hostname checks).
        self.port = free_port()
        self._server = await asyncio.start_server(
            self._serve, ["127.0.0.1", "127.0.0.2"], self.port, ssl=self._context
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            self.seen += head
            if head.startswith(b"GET /v3/settings/cacerts "):
                body = orjson.dumps(
                    {"type": "setting", "id": "cacerts", "value": self.ca_pem.decode()}
                )
                status = b"200 OK"
            else:
                body, status = b'{"kind":"Status","code":404}', b"404 Not Found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
                b"content-length: "
                + str(len(body)).encode()
                + b"\r\nconnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        writer.close()

"""A man in the middle, for the pinning tests: a TLS relay with its own CA.

`TLSRelay` listens on a loopback port with a certificate of *another* CA
(made on the spot with ``corral.pki``), and for each client opens a TLS
connection to the real server (unverified, as an attacker would) and pipes
bytes both ways. It records every plaintext byte a client sent through it
(`seen`), so a test can assert what an agent revealed to it. A request for
the CA is thus answered with the genuine PEM; only the certificate the
client sees differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

from corral.pki import CertPolicy, TLSPaths, ensure_tls, server_context, serving_sans


def own_tls(directory: Path) -> tuple[ssl.SSLContext, bytes]:
    """A fresh CA and a serving certificate for localhost, 127.0.0.1 and ::1 (not 127.0.0.2):
    (server context, CA PEM)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = TLSPaths.under(directory)
    state = ensure_tls(paths, serving_sans([], hostname=""), CertPolicy())
    return server_context(paths), state.ca_pem


class TLSRelay:
    """Relays TLS connections to ``upstream`` presenting its own certificate."""

    def __init__(self, directory: Path, upstream_host: str, upstream_port: int) -> None:
        self._context, self.ca_pem = own_tls(directory)
        self._upstream = (upstream_host, upstream_port)
        self.seen = bytearray()
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def __aenter__(self) -> TLSRelay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0, ssl=self._context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream, ssl=insecure)
        except OSError:
            writer.close()
            return
        to_server = asyncio.create_task(self._pipe(reader, up_writer, record=True))
        to_client = asyncio.create_task(self._pipe(up_reader, writer, record=False))
        self._tasks |= {to_server, to_client}
        try:
            await asyncio.wait({to_server, to_client}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_server, to_client):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                self._tasks.discard(task)
            for w in (writer, up_writer):
                w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, record: bool
    ) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            while data := await reader.read(65536):
                if record:
                    self.seen += data
                writer.write(data)
                await writer.drain()

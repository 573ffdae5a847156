"""A tunnel stream used as what it claims to be: an `anyio.abc.ByteStream`.

TLS negotiated end to end over a stream (how the proxy and the per-cluster
controllers reach a downstream API: the tunnel only carries ciphertext), and
half-close started by the far end while this side keeps sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from anyio.streams.tls import TLSStream

from corral.pki.certs import cert_pem, issue_serving_cert, key_pem, make_ca
from corral.pki.sans import SubjectAltNames
from polling import eventually

from .helpers import echo_server, session_pair


@contextlib.asynccontextmanager
async def tls_echo_server(tmp_path: Path) -> AsyncIterator[tuple[int, bytes]]:
    """A TLS echo server on loopback for ``localhost``; yields its port and CA PEM."""
    now = dt.datetime.now(dt.UTC)
    ca, ca_key = make_ca(now)
    sans = SubjectAltNames(frozenset({"localhost"}), frozenset({ipaddress.ip_address("127.0.0.1")}))
    cert, key = issue_serving_cert(ca, ca_key, sans, now)
    (tmp_path / "tls.crt").write_bytes(cert_pem(cert))
    (tmp_path / "tls.key").write_bytes(key_pem(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], cert_pem(ca)
    finally:
        server.close()
        await server.wait_closed()


async def test_tls_end_to_end_over_a_tunnel_stream(tmp_path: Path) -> None:
    async with tls_echo_server(tmp_path) as (port, ca_pem), session_pair() as pair:
        client_context = ssl.create_default_context(cadata=ca_pem.decode())
        raw = await pair.server.open_stream("127.0.0.1", port)
        tls = await TLSStream.wrap(raw, hostname="localhost", ssl_context=client_context)
        message = b"through the tunnel, encrypted end to end\n" * 1000
        await tls.send(message)
        received = b""
        while len(received) < len(message):
            received += await tls.receive()
        assert received == message
        await tls.aclose()


async def test_tls_to_the_wrong_name_fails_the_handshake(tmp_path: Path) -> None:
    async with tls_echo_server(tmp_path) as (port, ca_pem), session_pair() as pair:
        client_context = ssl.create_default_context(cadata=ca_pem.decode())
        raw = await pair.server.open_stream("127.0.0.1", port)
        with pytest.raises(ssl.SSLCertVerificationError):
            await TLSStream.wrap(raw, hostname="api.example.com", ssl_context=client_context)
        await raw.aclose()


async def test_the_far_end_half_closes_first_and_still_reads() -> None:
    counted: asyncio.Queue[int] = asyncio.Queue()

    async def greeter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello, then I only listen")
        writer.write_eof()
        await writer.drain()
        total = 0
        while data := await reader.read(65536):
            total += len(data)
        await counted.put(total)
        writer.close()

    server = await asyncio.start_server(greeter, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with session_pair() as pair:
            stream = await pair.server.open_stream("127.0.0.1", port)
            greeting = b""
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    greeting += await stream.receive()
            assert greeting == b"hello, then I only listen"
            # Our direction is still open: the greeter reads all of it.
            await stream.send(b"x" * 1_000_000)
            await stream.send_eof()
            assert await asyncio.wait_for(counted.get(), 10) == 1_000_000
            await stream.aclose()
    finally:
        server.close()
        await server.wait_closed()


async def test_closing_a_stream_ends_the_far_tcp_connection() -> None:
    async with echo_server() as echo, session_pair() as pair:
        stream = await pair.server.open_stream("127.0.0.1", echo.port)
        await stream.send(b"x")
        assert await stream.receive() == b"x"
        await stream.aclose()
        with pytest.raises(anyio.ClosedResourceError):
            await stream.receive()
        with pytest.raises(anyio.ClosedResourceError):
            await stream.send(b"y")
        await eventually(lambda: echo.open_now == 0, "the far TCP connection closes")
        assert pair.client.stream_count == 0

"""Tunnel sessions over an in-memory socket pair, dialing a real TCP echo server.

Covers what a user of the tunnel relies on: bytes arrive intact and in order
(one stream, a thousand at once), a refused dial says why, a slow reader
stalls only its own stream and holds a bounded buffer, half-close works,
and a closed session leaves no task and no socket behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import anyio
import pytest

from corral.tunnel import (
    DialRefused,
    DialTimeout,
    Session,
    SessionDialer,
    StreamReset,
    TunnelClosed,
    TunnelMetrics,
    metrics_for,
)
from corral.tunnel.memory import socket_pair
from polling import eventually

from .helpers import (
    closed_port,
    dial_tcp,
    echo_server,
    echo_through,
    other_tasks,
    read_forever,
    session_pair,
    socket_fds,
)


async def test_echo_through_a_real_tcp_server() -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    async with echo_server() as echo, session_pair() as pair:
        assert await echo_through(pair.server, echo.port, payload) == payload
        assert echo.connections == 1


async def test_a_thousand_concurrent_streams() -> None:
    async with echo_server() as echo, session_pair() as pair:
        payloads = [os.urandom(1000 + i) for i in range(1000)]
        results = await asyncio.gather(*(echo_through(pair.server, echo.port, p) for p in payloads))
        assert results == payloads
        assert echo.connections == 1000
        await eventually(lambda: pair.server.stream_count == 0 and pair.client.stream_count == 0)


async def test_streams_may_be_opened_from_either_side() -> None:
    sockets = socket_pair()
    async with echo_server() as echo:
        server = Session(sockets[0], name="s", role="server", accept=dial_tcp)
        client = Session(sockets[1], name="c", role="client", accept=dial_tcp)
        tasks = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
        try:
            from_server, from_client = await asyncio.gather(
                echo_through(server, echo.port, b"from the server"),
                echo_through(client, echo.port, b"from the client"),
            )
            assert (from_server, from_client) == (b"from the server", b"from the client")
        finally:
            await server.close()
            await client.close()
            await asyncio.gather(*tasks)


async def test_half_close_keeps_the_other_direction_open() -> None:
    async with echo_server() as echo, session_pair() as pair:
        stream = await pair.server.open_stream("127.0.0.1", echo.port)
        await stream.send(b"ping")
        await stream.send_eof()
        with pytest.raises(anyio.ClosedResourceError):
            await stream.send(b"more")
        # Our side is half-closed; the echo still answers, then ends its side.
        received = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                received += await stream.receive()
        assert received == b"ping"
        await stream.aclose()


async def test_a_stalled_reader_stalls_only_its_stream_with_a_bounded_buffer() -> None:
    window = 256 * 1024
    async with echo_server() as echo, session_pair(window=window, frame_size=16 * 1024) as pair:
        stalled = await pair.server.open_stream("127.0.0.1", echo.port)
        # Nobody reads `stalled`: the echo's answers pile up until credit runs out.
        # (more than loopback TCP buffers can absorb on the way to and from the echo)
        blob = os.urandom(64 * 1024 * 1024)
        writer = asyncio.create_task(stalled.send(blob))
        await eventually(lambda: stalled.buffered >= window // 2, "the stalled buffer fills")
        # Meanwhile another stream carries megabytes both ways.
        other = os.urandom(4 * 1024 * 1024)
        assert await echo_through(pair.server, echo.port, other) == other
        # The stalled stream never buffered more than its window, and its writer waits.
        assert stalled.buffered <= window
        assert not writer.done()
        # Reading resumes the flow: everything arrives.
        received = bytearray()
        while len(received) < len(blob):
            received.extend(await stalled.receive())
        await writer
        assert bytes(received) == blob
        await stalled.aclose()


async def test_refused_dials_say_why() -> None:
    async def refuse(host: str, port: int) -> anyio.abc.ByteStream:
        raise DialRefused(f"{host}:{port} is not the cluster API")

    metrics = TunnelMetrics()
    sockets = socket_pair()
    server = Session(sockets[0], name="s", role="server", metrics=metrics)
    client = Session(sockets[1], name="c", role="client", accept=refuse, metrics=metrics)
    tasks = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
    try:
        with pytest.raises(DialRefused, match=r"10\.0\.0\.1:22 is not the cluster API"):
            await server.open_stream("10.0.0.1", 22)
        # The server accepts nothing: the client's dial is refused too.
        with pytest.raises(DialRefused, match="accepts no streams"):
            await client.open_stream("127.0.0.1", 1)
        value = metrics.registry.get_sample_value(
            "corral_tunnel_dial_refusals_total", {"role": "client"}
        )
        assert value == 1
        # The session is still fine after refusals.
        assert not server.closed
        assert not client.closed
    finally:
        await server.close()
        await client.close()
        await asyncio.gather(*tasks)


async def test_a_failed_tcp_connection_is_a_refusal_with_the_reason() -> None:
    port = closed_port()
    async with session_pair() as pair:
        with pytest.raises(DialRefused, match=rf"dial 127\.0\.0\.1:{port} failed"):
            await pair.server.open_stream("127.0.0.1", port)


async def test_a_dial_without_answer_times_out() -> None:
    gate = asyncio.Event()

    async def never(host: str, port: int) -> anyio.abc.ByteStream:
        await gate.wait()
        raise DialRefused("too late")

    sockets = socket_pair()
    server = Session(sockets[0], name="s", role="server")
    client = Session(sockets[1], name="c", role="client", accept=never)
    tasks = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
    try:
        with pytest.raises(DialTimeout, match=r"within 0\.2s"):
            await server.open_stream("127.0.0.1", 9, timeout=0.2)
        gate.set()
        await eventually(lambda: client.stream_count == 0, "the late dial is dropped")
    finally:
        await server.close()
        await client.close()
        await asyncio.gather(*tasks)


async def test_a_dial_the_opener_gave_up_on_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def hangs(host: str, port: int) -> anyio.abc.ByteStream:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    sockets = socket_pair()
    server = Session(sockets[0], name="s", role="server")
    client = Session(sockets[1], name="c", role="client", accept=hangs)
    tasks = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
    try:
        with pytest.raises(DialTimeout):
            await server.open_stream("10.0.0.1", 443, timeout=0.1)
        async with asyncio.timeout(10):
            await cancelled.wait()
        await eventually(lambda: client.stream_count == 0)
        assert not client.closed
    finally:
        await server.close()
        await client.close()
        await asyncio.gather(*tasks)


async def test_the_dialer_maps_refusals_to_the_callers_error() -> None:
    class Unavailable(Exception):
        pass

    async with session_pair() as pair:
        dialer = SessionDialer(pair.server, error=Unavailable, timeout=5)
        port = closed_port()
        with pytest.raises(Unavailable, match="tunnel test-server: dial"):
            await dialer.dial("127.0.0.1", port)
    with pytest.raises(Unavailable, match="is closed"):
        await dialer.dial("127.0.0.1", port)


async def test_the_peer_closing_its_tcp_end_ends_our_reads() -> None:
    async with echo_server() as echo, session_pair() as pair:
        stream = await pair.server.open_stream("127.0.0.1", echo.port)
        await stream.send(b"x")
        assert await stream.receive() == b"x"
        await eventually(lambda: echo.open_now == 1)
        echo.writers[0].transport.abort()  # the far end resets
        with pytest.raises((anyio.EndOfStream, StreamReset)):
            await read_forever(stream)
        await stream.aclose()
        await eventually(lambda: pair.client.stream_count == 0)


async def test_teardown_ends_every_stream_and_leaks_nothing() -> None:
    async with echo_server() as echo:
        tasks_before = other_tasks()
        sockets_before = socket_fds()
        pair_sockets = socket_pair()
        server = Session(pair_sockets[0], name="s", role="server")
        client = Session(pair_sockets[1], name="c", role="client", accept=dial_tcp)
        runs = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
        streams = [await server.open_stream("127.0.0.1", echo.port) for _ in range(20)]
        for stream in streams:
            await stream.send(b"hello")
            assert await stream.receive() == b"hello"
        blocked_reader = asyncio.create_task(streams[0].receive())
        await eventually(lambda: echo.open_now == 20)
        assert socket_fds() >= sockets_before + 20  # the client's TCP ends
        # The socket goes away under both sessions.
        await pair_sockets[0].close()
        await asyncio.gather(*runs)
        assert server.closed
        assert client.closed
        assert isinstance(server.error, TunnelClosed)
        with pytest.raises(TunnelClosed):
            await blocked_reader
        for stream in streams[1:]:
            with pytest.raises(TunnelClosed):
                await stream.receive()
            with pytest.raises(TunnelClosed):
                await stream.send(b"x")
        with pytest.raises(TunnelClosed):
            await server.open_stream("127.0.0.1", echo.port)
        # Every dialed TCP connection was closed: the echo server sees EOF on all of them.
        await eventually(lambda: echo.open_now == 0, "the echo server's connections close")
        assert socket_fds() == sockets_before
        assert other_tasks() == tasks_before


async def test_close_is_idempotent_and_works_before_run() -> None:
    sockets = socket_pair()
    session = Session(sockets[0], name="idle", role="server")
    await session.close()
    await session.close()
    assert session.closed
    with pytest.raises(TunnelClosed):
        await session.open_stream("127.0.0.1", 1)


async def test_metrics_count_sessions_streams_and_bytes() -> None:
    metrics = TunnelMetrics()
    sample = metrics.registry.get_sample_value
    async with echo_server() as echo, session_pair(metrics=metrics) as pair:
        await eventually(lambda: sample("corral_tunnel_sessions", {"role": "server"}) == 1)
        stream = await pair.server.open_stream("127.0.0.1", echo.port)
        assert sample("corral_tunnel_streams", {"role": "server"}) == 1
        await stream.send(b"12345")
        assert await stream.receive() == b"12345"
        await stream.aclose()
        assert sample("corral_tunnel_bytes_total", {"role": "server", "direction": "sent"}) == 5
        assert sample("corral_tunnel_bytes_total", {"role": "server", "direction": "received"}) == 5
        assert (
            sample("corral_tunnel_streams_opened_total", {"role": "server", "initiator": "local"})
            == 1
        )
        assert (
            sample("corral_tunnel_streams_opened_total", {"role": "client", "initiator": "peer"})
            == 1
        )
        assert sample("corral_tunnel_streams", {"role": "server"}) == 0
        await eventually(lambda: sample("corral_tunnel_streams", {"role": "client"}) == 0)
    assert sample("corral_tunnel_sessions", {"role": "server"}) == 0
    assert sample("corral_tunnel_sessions", {"role": "client"}) == 0


async def test_close_fails_writers_waiting_for_credit_and_for_the_socket() -> None:
    async with echo_server() as echo:
        sockets = socket_pair(capacity=2)
        server = Session(sockets[0], name="s", role="server", window=64 * 1024, send_queue=1)
        client = Session(sockets[1], name="c", role="client", accept=dial_tcp, window=64 * 1024)
        runs = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
        streams = [await server.open_stream("127.0.0.1", echo.port) for _ in range(4)]
        # Nobody reads the echoes: the writers end up waiting for credit or for the queue.
        writers = [asyncio.create_task(s.send(bytes(64 * 1024 * 1024))) for s in streams]
        await eventually(lambda: all(s.buffered >= 32 * 1024 for s in streams))
        assert not any(w.done() for w in writers)
        await server.close()
        for writer in writers:
            with pytest.raises(TunnelClosed):
                await writer
        await asyncio.gather(*runs)
        await eventually(lambda: echo.open_now == 0)


async def test_a_cancelled_open_stream_cancels_the_dial() -> None:
    dialing = asyncio.Event()
    cancelled = asyncio.Event()

    async with echo_server() as echo:

        async def slow(host: str, port: int) -> anyio.abc.ByteStream:
            dialing.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return await dial_tcp(host, port)

        sockets = socket_pair()
        server = Session(sockets[0], name="s", role="server")
        client = Session(sockets[1], name="c", role="client", accept=slow)
        runs = [asyncio.create_task(server.run()), asyncio.create_task(client.run())]
        opening = asyncio.create_task(server.open_stream("127.0.0.1", echo.port))
        await asyncio.wait_for(dialing.wait(), 10)
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening
        await asyncio.wait_for(cancelled.wait(), 10)
        await eventually(lambda: client.stream_count == 0, "the dial is dropped")
        assert server.stream_count == 0
        assert echo.connections == 0
        await server.close()
        await asyncio.gather(*runs)


async def test_metrics_for_a_registry_are_shared_and_exposed() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    assert metrics_for(registry) is metrics_for(registry)
    async with session_pair(metrics=metrics_for(registry)):
        await eventually(
            lambda: (
                'corral_tunnel_sessions{role="server"} 1.0' in generate_latest(registry).decode()
            )
        )
        assert 'corral_tunnel_sessions{role="client"} 1.0' in generate_latest(registry).decode()

"""Tunnel sessions over a real loopback WebSocket (uvicorn + the ``websockets`` client).

The same promises as over the in-memory pair, now with the transports the
server and the agent really use: bytes intact through a real TCP server,
many concurrent streams, a stalled reader that stalls nobody else, and
both sides torn down — with nothing leaked — when either end goes away.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from corral.tunnel import DialRefused, ProtocolError, TunnelClosed
from polling import eventually

from .helpers import closed_port, echo_server, echo_through, other_tasks, socket_fds
from .wsharness import websocket_tunnel


async def test_echo_through_a_real_websocket() -> None:
    payload = os.urandom(5 * 1024 * 1024 + 3)
    async with echo_server() as echo, websocket_tunnel() as tunnel:
        assert await echo_through(tunnel.server, echo.port, payload) == payload


async def test_many_concurrent_streams_over_a_websocket() -> None:
    async with echo_server() as echo, websocket_tunnel() as tunnel:
        payloads = [os.urandom(2000 + i) for i in range(1000)]
        results = await asyncio.gather(
            *(echo_through(tunnel.server, echo.port, p) for p in payloads)
        )
        assert results == payloads


async def test_a_stalled_reader_does_not_stall_another_stream_over_a_websocket() -> None:
    window = 256 * 1024
    async with echo_server() as echo, websocket_tunnel(window=window) as tunnel:
        stalled = await tunnel.server.open_stream("127.0.0.1", echo.port)
        writer = asyncio.create_task(stalled.send(os.urandom(64 * 1024 * 1024)))
        await eventually(lambda: stalled.buffered >= window // 2, "the stalled buffer fills")
        other = os.urandom(4 * 1024 * 1024)
        assert await echo_through(tunnel.server, echo.port, other) == other
        assert stalled.buffered <= window
        assert not writer.done()
        writer.cancel()
        await stalled.aclose()


async def test_a_refused_dial_over_a_websocket() -> None:
    async with websocket_tunnel() as tunnel:
        port = closed_port()
        with pytest.raises(DialRefused, match=f"127.0.0.1:{port} failed"):
            await tunnel.server.open_stream("127.0.0.1", port)


async def test_the_agent_going_away_tears_down_the_server_side() -> None:
    async with echo_server() as echo:
        tasks_before = other_tasks()
        sockets_before = socket_fds()
        async with websocket_tunnel() as tunnel:
            streams = [await tunnel.server.open_stream("127.0.0.1", echo.port) for _ in range(10)]
            for stream in streams:
                await stream.send(b"hi")
                assert await stream.receive() == b"hi"
            # The agent's connection drops (as when its process dies).
            await tunnel.connection.close()
            await tunnel.server.wait_closed()
            await tunnel.client.wait_closed()
            for stream in streams:
                with pytest.raises(TunnelClosed):
                    await stream.send(b"x")
            await eventually(lambda: echo.open_now == 0, "the agent's TCP ends close")
        await eventually(lambda: other_tasks() <= tasks_before, "no task is left")
        await eventually(lambda: socket_fds() <= sockets_before, "no socket is left")


async def test_the_server_closing_ends_the_agent_session() -> None:
    async with websocket_tunnel() as tunnel:
        await tunnel.server.close()
        async with asyncio.timeout(10):
            await tunnel.client.wait_closed()
        assert isinstance(tunnel.client.error, TunnelClosed)


async def test_a_text_message_from_the_agent_closes_the_server_session() -> None:
    async with websocket_tunnel() as tunnel:
        await tunnel.connection.send("not a frame")
        async with asyncio.timeout(10):
            await tunnel.server.wait_closed()
        assert isinstance(tunnel.server.error, ProtocolError)
        assert "text message" in str(tunnel.server.error)
        async with asyncio.timeout(10):
            await tunnel.client.wait_closed()

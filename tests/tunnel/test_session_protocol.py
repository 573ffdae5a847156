"""A session facing a broken or silent peer: it closes cleanly, never crashes.

The peer here is the raw other end of an in-memory socket pair, so the test
writes exactly the frames (or garbage) it wants.
"""

from __future__ import annotations

import asyncio

import pytest

from corral.tunnel import ProtocolError, Session, TunnelClosed, frames
from corral.tunnel.frames import FrameType
from corral.tunnel.memory import MemorySocket, socket_pair
from polling import eventually

from .helpers import dial_tcp, echo_server, other_tasks


async def run_against_raw_peer(
    messages: list[bytes], **knobs: object
) -> tuple[Session, MemorySocket]:
    ours, peer = socket_pair()
    session = Session(ours, name="victim", role="server", accept=dial_tcp, **knobs)  # type: ignore[arg-type]
    task = asyncio.create_task(session.run())
    for message in messages:
        await peer.send(message)
    async with asyncio.timeout(10):
        await task
    return session, ours


@pytest.mark.parametrize(
    ("messages", "complaint"),
    [
        ([b"garbage"], "unsupported frame version"),
        ([b"\x01"], "shorter than its header"),
        ([frames.encode(FrameType.DATA, 7, b"x")], "DATA frame for unknown stream 7"),
        ([frames.encode_connect(2, 10, "h", 1)], "stream id 2, which is ours"),
        (
            [frames.encode_window(FrameType.CONNECT_OK, 5, 10)],
            "CONNECT_OK for stream 5, which we did not open",
        ),
    ],
)
async def test_a_malformed_or_misplaced_frame_closes_the_session(
    messages: list[bytes], complaint: str
) -> None:
    session, ours = await run_against_raw_peer(messages)
    assert session.closed
    assert isinstance(session.error, ProtocolError)
    assert complaint in str(session.error)
    assert ours.close_code == 1002


async def test_data_beyond_the_granted_window_closes_the_session() -> None:
    async with echo_server() as echo:
        ours, peer = socket_pair()
        session = Session(ours, name="victim", role="server", accept=dial_tcp, window=1024)
        task = asyncio.create_task(session.run())
        # The peer opens a stream (odd ids are the client's) that we dial, then floods it.
        await peer.send(frames.encode_connect(1, 1024, "127.0.0.1", echo.port))
        answer = frames.decode(await peer.receive())
        assert answer.type is FrameType.CONNECT_OK
        assert frames.amount(answer) == 1024
        await peer.send(frames.encode(FrameType.DATA, 1, bytes(1024)))
        await peer.send(frames.encode(FrameType.DATA, 1, b"!"))
        async with asyncio.timeout(10):
            await task
        assert isinstance(session.error, ProtocolError)
        assert "beyond its window" in str(session.error)


async def test_a_text_message_is_a_protocol_error_not_a_crash() -> None:
    ours, peer = socket_pair()
    session = Session(ours, name="victim", role="server")
    task = asyncio.create_task(session.run())
    await peer.send(frames.encode(FrameType.PING, 0, bytes(8)))
    pong = frames.decode(await peer.receive())
    assert pong.type is FrameType.PONG
    assert bytes(pong.payload) == bytes(8)
    await peer.send(b"\x01\x63" + bytes(4))  # unknown type 99
    async with asyncio.timeout(10):
        await task
    assert isinstance(session.error, ProtocolError)


async def test_keepalive_closes_a_session_whose_peer_never_answers() -> None:
    before = other_tasks()
    ours, peer = socket_pair()
    session = Session(
        ours, name="silent", role="server", keepalive_interval=0.05, keepalive_timeout=0.2
    )
    task = asyncio.create_task(session.run())
    ping = frames.decode(await peer.receive())
    assert ping.type is FrameType.PING  # the session asks...
    async with asyncio.timeout(10):
        await task  # ...and, unanswered, gives up
    assert isinstance(session.error, TunnelClosed)
    assert "no pong within 0.2s" in str(session.error)
    assert other_tasks() == before


async def test_keepalive_answered_keeps_the_session_up() -> None:
    a, b = socket_pair()
    one = Session(a, name="one", role="server", keepalive_interval=0.02, keepalive_timeout=0.5)
    two = Session(b, name="two", role="client", keepalive_interval=0.02, keepalive_timeout=0.5)
    tasks = [asyncio.create_task(one.run()), asyncio.create_task(two.run())]
    await eventually(lambda: one.pings_answered >= 5 and two.pings_answered >= 5)
    assert not one.closed
    assert not two.closed
    await one.close()
    await asyncio.gather(*tasks)
    assert two.closed

"""`SessionRegistry`: one live session per key, the newest wins, waiting for one is bounded."""

from __future__ import annotations

import asyncio

from corral.tunnel import Session, SessionRegistry
from corral.tunnel.memory import socket_pair
from polling import eventually


def running_session(name: str) -> tuple[Session, asyncio.Task[None]]:
    session = Session(socket_pair()[0], name=name, role="server", keepalive_interval=None)
    return session, asyncio.create_task(session.run())


async def test_a_second_session_for_a_key_replaces_and_closes_the_first() -> None:
    registry = SessionRegistry()
    first, first_run = running_session("first")
    second, second_run = running_session("second")
    registry.add("c-abcde", first)
    assert registry.get("c-abcde") is first
    registry.add("c-abcde", second)
    assert registry.get("c-abcde") is second
    await asyncio.wait_for(first_run, 10)
    assert first.closed
    assert not second.closed
    # The old session ending late must not remove its successor.
    assert registry.remove("c-abcde", first) is False
    assert registry.get("c-abcde") is second
    assert registry.keys() == ["c-abcde"]
    assert registry.remove("c-abcde", second) is True
    assert registry.get("c-abcde") is None
    await second.close()
    await second_run


async def test_a_closed_session_counts_as_none() -> None:
    registry = SessionRegistry()
    session, run = running_session("gone")
    registry.add("c-1", session)
    await session.close()
    await run
    assert registry.get("c-1") is None
    assert len(registry) == 0


async def test_wait_for_returns_the_session_once_added_or_none_in_time() -> None:
    registry = SessionRegistry()
    assert await registry.wait_for("c-late", 0.05) is None
    waiter = asyncio.create_task(registry.wait_for("c-late", 10))
    session, run = running_session("late")
    await eventually(lambda: not waiter.done() or waiter.result() is None)
    registry.add("c-late", session)
    assert await waiter is session
    await registry.close()
    await run
    assert session.closed

"""Property: any sequence of writes leaves the memory and SQLite drivers with one log.

Hypothesis draws creates, updates (with a right or wrong expected revision),
deletes and compactions over a few keys; both drivers must give every op the
same outcome, end with the same history (read back with a watch) and the same
state at every revision still readable (a whole list, a page of one, and a get
of every key).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.storage import (
    Backend,
    CompactedError,
    Event,
    MemoryBackend,
    SQLiteBackend,
    StorageError,
)

from .helpers import FAST, take

KEYS = ["/p/a", "/p/b", "/p/c", "/q/a"]

Op = tuple[str, int, int, bool]

ops = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "delete", "delete-any", "compact"]),
        st.integers(0, len(KEYS) - 1),
        st.integers(0, 3),
        st.booleans(),
    ),
    max_size=30,
)


async def apply(backend: Backend, op: Op) -> object:
    verb, index, value, right = op
    key = KEYS[index]
    current = await backend.get(key)
    expected = (current.mod_revision if current else 1) + (0 if right else 1)
    try:
        if verb == "create":
            return await backend.create(key, b"%d" % value, ttl=value * 100)
        if verb == "update":
            return await backend.update(key, b"%d" % value, expected_revision=expected)
        if verb == "delete":
            return await backend.delete(key, expected_revision=expected)
        if verb == "delete-any":
            return await backend.delete(key)
        return await backend.compact(max(0, await backend.current_revision() - value))
    except StorageError as err:
        return type(err).__name__


async def run(
    backend: Backend, sequence: list[Op]
) -> tuple[list[object], list[Event], list[object]]:
    await backend.start()
    try:
        await backend.create("/start", b"")
        outcomes = [await apply(backend, op) for op in sequence]
        current = await backend.current_revision()
        compacted = await backend.compacted_revision()
        log = await take(backend.watch("", revision=max(1, compacted)), current - max(1, compacted))
        states: list[object] = []
        for revision in range(1, current + 1):
            try:
                listed = await backend.list("", revision=revision)
                second = await backend.list("/p/", revision=revision, limit=1, start_after="/p/a")
                keys = [await backend.get(key, revision=revision) for key in KEYS]
                states.append((listed, second, keys))
            except CompactedError:
                states.append("compacted")
        return outcomes, log, states
    finally:
        await backend.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_memory_and_sqlite_keep_the_same_log(sequence: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        memory = asyncio.run(run(MemoryBackend(FAST), sequence))
        sqlite = asyncio.run(run(SQLiteBackend(Path(directory) / "state.db", FAST), sequence))
    assert memory == sqlite

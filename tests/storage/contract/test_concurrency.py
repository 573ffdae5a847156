"""Contract: concurrent writers never lose an acknowledged write."""

from __future__ import annotations

import asyncio

from corral.storage import Backend, RevisionMismatchError

WRITERS = 16
INCREMENTS = 15


async def test_concurrent_compare_and_swap_never_loses_a_write(backend: Backend) -> None:
    await backend.create("/counter", b"0")
    acknowledged: list[int] = []
    created: list[str] = []

    async def increment(writer: int) -> None:
        done = 0
        while done < INCREMENTS:
            kv = await backend.get("/counter")
            assert kv is not None
            value = int(kv.value) + 1
            try:
                new = await backend.update(
                    "/counter", b"%d" % value, expected_revision=kv.mod_revision
                )
            except RevisionMismatchError:
                continue
            acknowledged.append(new.mod_revision)
            done += 1
            key = f"/items/{writer}/{done}"
            await backend.create(key, b"x")
            created.append(key)

    await asyncio.gather(*(increment(w) for w in range(WRITERS)))
    final = await backend.get("/counter")
    assert final is not None
    assert int(final.value) == WRITERS * INCREMENTS == len(acknowledged)
    assert len(set(acknowledged)) == len(acknowledged)
    listed = await backend.list("/items/")
    assert sorted(kv.key for kv in listed.items) == sorted(created)
    assert len(created) == WRITERS * INCREMENTS

"""Contract: get, list and count, now and at older revisions, and their bounds."""

from __future__ import annotations

import pytest

from corral.storage import (
    Backend,
    CompactedError,
    FutureRevisionError,
    KeyValue,
)


async def test_get_and_list_at_an_older_revision_see_the_old_state(backend: Backend) -> None:
    a1 = await backend.create("/r/a", b"a1")
    b1 = await backend.create("/r/b", b"b1")
    then = await backend.current_revision()
    await backend.update("/r/a", b"a2", expected_revision=a1.mod_revision)
    await backend.delete("/r/b")
    await backend.create("/r/c", b"c1")

    assert await backend.get("/r/a", revision=then) == a1
    assert await backend.get("/r/b", revision=then) == b1
    assert await backend.get("/r/c", revision=then) is None
    assert await backend.get("/r/a", revision=a1.mod_revision) == a1
    assert await backend.get("/r/b", revision=a1.mod_revision) is None

    old = await backend.list("/r/", revision=then)
    assert old.items == [a1, b1]
    assert old.revision == then
    now = await backend.list("/r/")
    assert [kv.key for kv in now.items] == ["/r/a", "/r/c"]
    assert now.revision == await backend.current_revision()


async def test_list_keeps_to_its_prefix(backend: Backend) -> None:
    for key in ("/a", "/a/", "/a/x", "/a/y/z", "/a0", "/ab", "/b/x", "/a\U0010ffff"):
        await backend.create(key, key.encode())
    listed = await backend.list("/a/")
    assert [kv.key for kv in listed.items] == ["/a/", "/a/x", "/a/y/z"]
    every = await backend.list("")
    assert len(every.items) == 8
    assert [kv.key for kv in (await backend.list("/a\U0010ffff")).items] == ["/a\U0010ffff"]
    assert await backend.count("/a/") == (3, await backend.current_revision())
    assert (await backend.count(""))[0] == 8
    assert (await backend.count("/nothing/"))[0] == 0


async def test_list_pages_stay_at_the_first_page_revision(backend: Backend) -> None:
    keys = [f"/p/{i:02d}" for i in range(20)]
    for key in keys:
        await backend.create(key, b"v0")
    expected = {kv.key: kv for kv in (await backend.list("/p/")).items}

    pages: list[list[KeyValue]] = []
    page = await backend.list("/p/", limit=6)
    revision = page.revision
    pages.append(page.items)
    step = 0
    while page.more:
        # Writes between pages: update, delete and create keys in the range.
        step += 1
        victim = f"/p/{(step * 5) % 20:02d}"
        current = await backend.get(victim)
        if current is not None:
            await backend.update(victim, b"changed", expected_revision=current.mod_revision)
        await backend.delete(f"/p/{(step * 7 + 3) % 20:02d}")
        await backend.create(f"/p/{step:02d}-new", b"new")
        await backend.create(f"/p/zz{step}", b"new")
        page = await backend.list("/p/", revision=revision, limit=6, start_after=pages[-1][-1].key)
        assert page.revision == revision
        pages.append(page.items)

    assert [len(p) for p in pages] == [6, 6, 6, 2]
    listed = [kv for p in pages for kv in p]
    assert {kv.key: kv for kv in listed} == expected
    assert [kv.key for kv in listed] == keys


async def test_list_limit_and_more(backend: Backend) -> None:
    for i in range(4):
        await backend.create(f"/l/{i}", b"v")
    exact = await backend.list("/l/", limit=4)
    assert (len(exact.items), exact.more) == (4, False)
    short = await backend.list("/l/", limit=3)
    assert (len(short.items), short.more) == (3, True)
    rest = await backend.list("/l/", limit=3, start_after="/l/2")
    assert ([kv.key for kv in rest.items], rest.more) == (["/l/3"], False)
    before_prefix = await backend.list("/l/", start_after="/a")
    assert len(before_prefix.items) == 4


async def test_reads_outside_the_history_are_refused(backend: Backend) -> None:
    first = await backend.create("/k", b"1")
    second = await backend.update("/k", b"2", expected_revision=first.mod_revision)
    current = await backend.current_revision()
    with pytest.raises(FutureRevisionError) as future:
        await backend.get("/k", revision=current + 1)
    assert (future.value.requested, future.value.current) == (current + 1, current)
    with pytest.raises(FutureRevisionError):
        await backend.list("/", revision=current + 5)

    assert await backend.compact(first.mod_revision) == first.mod_revision
    assert await backend.compacted_revision() == first.mod_revision
    with pytest.raises(CompactedError) as compacted:
        await backend.get("/k", revision=first.mod_revision)
    assert (compacted.value.requested, compacted.value.compacted) == (
        first.mod_revision,
        first.mod_revision,
    )
    with pytest.raises(CompactedError):
        await backend.list("/", revision=first.mod_revision)
    assert await backend.get("/k", revision=second.mod_revision) == second

"""Contract: creates, compare-and-swap updates and deletes, and their revisions."""

from __future__ import annotations

import pytest

from corral.storage import (
    Backend,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionMismatchError,
)


async def test_revisions_strictly_increase_across_keys(backend: Backend) -> None:
    assert await backend.current_revision() == 0
    a = await backend.create("/a", b"1")
    b = await backend.create("/b", b"1")
    a2 = await backend.update("/a", b"2", expected_revision=a.mod_revision)
    b2 = await backend.delete("/b")
    revisions = [kv.mod_revision for kv in (a, b, a2, b2)]
    assert revisions == sorted(set(revisions))
    assert revisions[0] >= 1
    assert await backend.current_revision() == b2.mod_revision


async def test_create_only_if_absent(backend: Backend) -> None:
    first = await backend.create("/k", b"v1")
    assert first == KeyValue("/k", b"v1", first.mod_revision, first.mod_revision, 0)
    with pytest.raises(KeyExistsError) as caught:
        await backend.create("/k", b"v2")
    assert caught.value.key == "/k"
    assert (await backend.get("/k")) == first
    await backend.delete("/k")
    again = await backend.create("/k", b"v3")
    assert again.create_revision == again.mod_revision > first.mod_revision


async def test_update_is_compare_and_swap(backend: Backend) -> None:
    created = await backend.create("/k", b"v1")
    with pytest.raises(RevisionMismatchError) as caught:
        await backend.update("/k", b"v2", expected_revision=created.mod_revision + 100)
    assert (caught.value.key, caught.value.expected, caught.value.actual) == (
        "/k",
        created.mod_revision + 100,
        created.mod_revision,
    )
    updated = await backend.update("/k", b"v2", expected_revision=created.mod_revision)
    assert updated.value == b"v2"
    assert updated.create_revision == created.create_revision
    assert updated.mod_revision > created.mod_revision
    with pytest.raises(RevisionMismatchError):
        await backend.update("/k", b"v3", expected_revision=created.mod_revision)
    with pytest.raises(KeyNotFoundError) as missing:
        await backend.update("/absent", b"v", expected_revision=1)
    assert missing.value.key == "/absent"
    assert await backend.get("/k") == updated


async def test_delete_is_compare_and_swap_and_returns_the_last_value(backend: Backend) -> None:
    created = await backend.create("/k", b"last", ttl=30)
    with pytest.raises(RevisionMismatchError) as caught:
        await backend.delete("/k", expected_revision=created.mod_revision + 1)
    assert caught.value.actual == created.mod_revision
    deleted = await backend.delete("/k", expected_revision=created.mod_revision)
    assert deleted.key == "/k"
    assert deleted.value == b"last"
    assert deleted.create_revision == created.create_revision
    assert deleted.mod_revision > created.mod_revision
    assert await backend.get("/k") is None
    with pytest.raises(KeyNotFoundError):
        await backend.delete("/k")
    await backend.create("/j", b"x")
    unconditional = await backend.delete("/j")
    assert unconditional.value == b"x"


async def test_refused_writes_take_no_revision(backend: Backend) -> None:
    created = await backend.create("/k", b"v")
    with pytest.raises(KeyExistsError):
        await backend.create("/k", b"v")
    with pytest.raises(RevisionMismatchError):
        await backend.update("/k", b"v", expected_revision=created.mod_revision + 5)
    with pytest.raises(KeyNotFoundError):
        await backend.delete("/nothing")
    assert await backend.current_revision() == created.mod_revision
    nxt = await backend.create("/next", b"v")
    assert nxt.mod_revision == created.mod_revision + 1


async def test_lease_is_kept_with_the_key(backend: Backend) -> None:
    created = await backend.create("/k", b"v", ttl=60)
    assert created.lease == 60
    updated = await backend.update("/k", b"w", expected_revision=created.mod_revision)
    assert updated.lease == 0
    assert (await backend.get("/k")) == updated


async def test_bad_arguments_are_programming_errors(backend: Backend) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        await backend.create("", b"v")
    with pytest.raises(TypeError, match="bytes"):
        await backend.create("/k", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        await backend.create("/k", b"v", ttl=-1)

"""Several backends on one database: what several Corral servers sharing it rely on.

Each backend stands for one server process (its own connections, writer,
listener); they share only the database, as replicas do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from corral.storage import Event, EventType, ResyncRequiredError, StorageOptions, open_backend
from corral.storage.postgres import PostgresBackend
from pgserver import PostgresServer

from ..helpers import FAST, eventually, take

WRITERS = 8
WRITES_EACH = 25

Replica = Callable[..., Awaitable[PostgresBackend]]


@pytest.fixture
async def replica(fresh_database: str) -> AsyncIterator[Replica]:
    """``await replica()``: another started backend on the test's one database."""
    opened: list[PostgresBackend] = []

    async def make(options: StorageOptions = FAST, **kwargs: float) -> PostgresBackend:
        backend = open_backend(fresh_database, options)
        assert isinstance(backend, PostgresBackend)
        if kwargs:
            backend = PostgresBackend(backend.address, options, **kwargs)  # type: ignore[arg-type]
        await backend.start()
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        await backend.close()


async def _listening(backend: PostgresBackend) -> None:
    async def up() -> bool:
        return backend.follower is not None and backend.follower.listening

    await eventually(up, what="the listening connection")


async def test_a_write_through_one_reaches_a_watch_on_the_other(replica: Replica) -> None:
    a, b = await replica(), await replica()
    await _listening(b)
    watch = b.watch("/r/", revision=0)
    created = await a.create("/r/x", b"1")
    updated = await a.update("/r/x", b"2", expected_revision=created.mod_revision)
    events = await take(watch, 2)
    assert [(e.type, e.kv.value, e.revision) for e in events] == [
        (EventType.CREATE, b"1", created.mod_revision),
        (EventType.UPDATE, b"2", updated.mod_revision),
    ]
    assert events[1].prev_revision == created.mod_revision
    assert await b.current_revision() == updated.mod_revision
    assert (await b.get("/r/x")) == updated
    await watch.aclose()


async def test_concurrent_writers_on_both_every_watch_sees_one_gapless_order(
    replica: Replica,
) -> None:
    a, b = await replica(), await replica()
    await _listening(a)
    await _listening(b)
    watches = [a.watch("/c/", revision=0), b.watch("/c/", revision=0)]
    total = 2 * WRITERS * WRITES_EACH

    async def writer(backend: PostgresBackend, name: str) -> list[int]:
        revisions = []
        for i in range(WRITES_EACH):
            kv = await backend.create(f"/c/{name}/{i}", name.encode())
            revisions.append(kv.mod_revision)
        return revisions

    results = await asyncio.gather(
        *(writer(a, f"a{n}") for n in range(WRITERS)),
        *(writer(b, f"b{n}") for n in range(WRITERS)),
    )
    acknowledged = sorted(r for revisions in results for r in revisions)
    # Every write got its own revision; all of them form one unbroken sequence.
    assert acknowledged == list(range(1, total + 1))
    # Each writer's own writes were ordered as it made them.
    assert all(revisions == sorted(revisions) for revisions in results)
    seen = [await take(watch, total, within=30) for watch in watches]
    for events in seen:
        assert [e.revision for e in events] == acknowledged
    assert [e.kv.key for e in seen[0]] == [e.kv.key for e in seen[1]]
    for watch in watches:
        await watch.aclose()


async def test_a_watch_from_history_on_one_continues_with_the_others_writes(
    replica: Replica,
) -> None:
    a, b = await replica(), await replica()
    await a.create("/elsewhere", b"")
    first = await a.create("/h/1", b"1")
    await a.create("/h/2", b"2")
    await _listening(b)
    watch = b.watch("/h/", revision=first.mod_revision - 1)
    third = await a.create("/h/3", b"3")
    fourth = await b.create("/h/4", b"4")
    events = await take(watch, 4)
    assert [e.kv.key for e in events] == ["/h/1", "/h/2", "/h/3", "/h/4"]
    assert events[-1].revision == fourth.mod_revision == third.mod_revision + 1
    await watch.aclose()


async def test_compare_and_swap_across_replicas_lets_exactly_one_win(replica: Replica) -> None:
    a, b = await replica(), await replica()
    kv = await a.create("/cas", b"0")
    outcomes = await asyncio.gather(
        *(
            backend.update("/cas", name.encode(), expected_revision=kv.mod_revision)
            for backend, name in ((a, "a"), (b, "b")) * 4
        ),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert (await b.get("/cas")) == winners[0]


async def test_only_one_replica_sweeps_leases(replica: Replica) -> None:
    a, b = await replica(maintenance_retry=0.1), await replica(maintenance_retry=0.1)

    async def one_maintainer() -> bool:
        holders = [r.follower is not None and r.follower.maintainer for r in (a, b)]
        return holders.count(True) == 1

    await eventually(one_maintainer, what="one maintainer")
    await _listening(a)
    await _listening(b)
    watch = a.watch("/ttl/", revision=0)
    created = await b.create("/ttl/k", b"v", ttl=1)
    events = await take(watch, 2, within=10)
    assert [e.type for e in events] == [EventType.CREATE, EventType.DELETE]
    assert events[1].prev_revision == created.mod_revision
    # Deleted once: no second delete event, no revision wasted on it.
    await asyncio.sleep(0)
    assert await a.current_revision() == events[1].revision

    # The maintainer goes away: the other takes over.
    maintainer = a if a.follower is not None and a.follower.maintainer else b
    other = b if maintainer is a else a
    await maintainer.close()

    async def taken_over() -> bool:
        return other.follower is not None and other.follower.maintainer

    await eventually(taken_over, what="the other replica taking the maintenance lock")
    await other.create("/ttl/k2", b"v", ttl=1)

    async def expired() -> bool:
        return await other.get("/ttl/k2") is None

    await eventually(expired, within=10, what="the lease to expire")


async def test_lost_notifications_are_made_up_by_a_catch_up_on_reconnection(
    replica: Replica,
) -> None:
    a = await replica()
    b = await replica(poll_interval=0.05)
    await _listening(b)
    follower = b.follower
    assert follower is not None
    watch = b.watch("/n/", revision=0)
    await a.create("/n/0", b"0")
    await take(watch, 1)
    polls = follower.polls
    # The listening connection breaks: what is written meanwhile notifies no one.
    follower.disconnect()
    written: list[Event] = []
    for i in range(1, 6):
        kv = await a.create(f"/n/{i}", str(i).encode())
        written.append(Event(EventType.CREATE, kv))
    events = await take(watch, 5)
    assert events == written
    assert follower.polls > polls
    await watch.aclose()


async def test_while_no_notification_connection_can_be_made_the_log_is_polled(
    replica: Replica, postgres_server: PostgresServer, fresh_database: str
) -> None:
    a = await replica()
    b = await replica(poll_interval=0.05)
    await _listening(b)
    follower = b.follower
    assert follower is not None
    watch = b.watch("/p/", revision=0)
    await a.create("/p/0", b"0")
    await take(watch, 1)  # b's pool now holds a connection it keeps
    database = fresh_database.rsplit("/", 1)[1].split("?")[0]
    postgres_server.psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    try:
        follower.disconnect()
        written: list[Event] = []
        for i in range(1, 4):
            kv = await a.create(f"/p/{i}", str(i).encode())
            written.append(Event(EventType.CREATE, kv))
        assert await take(watch, 3) == written
        assert not follower.listening
    finally:
        postgres_server.psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    await _listening(b)
    kv = await a.create("/p/4", b"4")
    assert await take(watch, 1) == [Event(EventType.CREATE, kv)]
    await watch.aclose()


async def test_a_log_that_went_back_in_time_makes_watchers_relist(
    replica: Replica, postgres_server: PostgresServer, fresh_database: str
) -> None:
    backend = await replica(poll_interval=0.05)
    await _listening(backend)
    await backend.create("/t/a", b"1")
    await backend.create("/t/b", b"2")
    watch = backend.watch("/t/", revision=0)
    # The database is restored from a backup older than what was published.
    database = fresh_database.rsplit("/", 1)[1].split("?")[0]
    postgres_server.psql(
        "DELETE FROM corral_kv WHERE id > 1; DELETE FROM corral_current WHERE name = '/t/b';"
        " UPDATE corral_meta SET revision = 1",
        database,
    )
    assert backend.follower is not None
    backend.follower.disconnect()  # as a restart of the server would
    with pytest.raises(ResyncRequiredError):
        await take(watch, 1)


async def test_shared_revision_reads_still_cover_every_acknowledged_write(
    replica: Replica,
) -> None:
    a, b = await replica(), await replica()
    for i in range(20):
        # Callers of b already waiting while a writes (they may or may not see
        # it), then callers that ask after it was acknowledged: they must.
        early = [asyncio.ensure_future(b.current_revision()) for _ in range(4)]
        kv = await a.create(f"/lin/{i}", b"")
        late = await asyncio.gather(*(b.current_revision() for _ in range(8)))
        assert all(revision >= kv.mod_revision for revision in late)
        await asyncio.gather(*early)

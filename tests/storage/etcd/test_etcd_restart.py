"""A dedicated etcd per test: a restart under a running backend (writes fail clearly,
then resume, and an open watch carries on with no gap), and a brand-new etcd."""

from __future__ import annotations

import pytest

from corral.storage import DatastoreError, EventType, open_backend
from etcdserver import running_etcd

from ..helpers import FAST, eventually, take


async def test_watch_survives_an_etcd_restart() -> None:
    with running_etcd() as server:
        backend = open_backend(server.url("/restart"), FAST)
        await backend.start()
        try:
            before = await backend.create("/r/before", b"1")
            watch = backend.watch("/r/", revision=before.mod_revision)
            server.stop()
            with pytest.raises(DatastoreError, match=r"etcd at 127\.0\.0\.1"):
                await backend.create("/r/during", b"x")
            server.start()
            written: list[str] = []

            async def write_again() -> bool:
                try:
                    kv = await backend.create(f"/r/after-{len(written)}", b"2")
                except DatastoreError:
                    return False
                written.append(kv.key)
                return True

            await eventually(write_again, within=30, what="writes after the restart")
            later = await backend.create("/r/later", b"3")
            events = await take(watch, 2, within=30)
            assert [(e.type, e.kv.key) for e in events] == [
                (EventType.CREATE, written[0]),
                (EventType.CREATE, "/r/later"),
            ]
            assert events[1].kv == later
        finally:
            await backend.close()


async def test_a_new_etcd_is_the_empty_log_at_revision_0() -> None:
    with running_etcd() as server:
        backend = open_backend(server.url(), FAST)
        await backend.start()
        try:
            assert await backend.current_revision() == 0
            listed = await backend.list("")
            assert (listed.items, listed.revision) == ([], 0)
            assert await backend.count("") == (0, 0)
            watch = backend.watch("/", revision=listed.revision)
            created = await backend.create("/first", b"1")
            assert created.mod_revision == 2  # etcd's own: its first write
            (event,) = await take(watch, 1)
            assert event.kv == created
        finally:
            await backend.close()

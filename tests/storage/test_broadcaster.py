"""The broadcaster: prefix fan-out, bounded buffers, cut-off and close."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from corral.storage import Event, EventType, KeyValue, WatchOverflowError
from corral.storage.broadcaster import Broadcaster

from .helpers import collect, drain, take


def event(revision: int, key: str) -> Event:
    return Event(EventType.CREATE, KeyValue(key, b"v", revision, revision))


def watchers() -> float:
    return REGISTRY.get_sample_value("corral_storage_watchers") or 0.0


async def test_subscribers_get_only_their_prefix_in_order() -> None:
    broadcaster = Broadcaster(buffer=100)
    pods = broadcaster.subscribe("/pods/")
    everything = broadcaster.subscribe("")
    broadcaster.publish([event(1, "/pods/a"), event(2, "/nodes/a")])
    broadcaster.publish([event(3, "/pods/b")])
    assert broadcaster.revision == 3
    assert [e.revision for e in await take(pods, 2)] == [1, 3]
    assert [e.revision for e in await take(everything, 3)] == [1, 2, 3]


async def test_a_full_subscriber_is_cut_off_after_its_buffer_and_others_go_on() -> None:
    broadcaster = Broadcaster(buffer=3)
    slow = broadcaster.subscribe("")
    fast = broadcaster.subscribe("")
    overflows = REGISTRY.get_sample_value("corral_storage_watch_overflows_total") or 0.0
    broadcaster.publish([event(1, "/a"), event(2, "/a")])
    assert [e.revision for e in await take(fast, 2)] == [1, 2]
    broadcaster.publish([event(3, "/a"), event(4, "/a")])
    assert len(broadcaster) == 1
    assert REGISTRY.get_sample_value("corral_storage_watch_overflows_total") == overflows + 1
    broadcaster.publish([event(5, "/a")])
    got: list[Event] = []
    with pytest.raises(WatchOverflowError) as caught:
        await collect(slow, got)
    assert [e.revision for e in got] == [1, 2, 3]
    assert caught.value.last_revision == 3
    assert [e.revision for e in await take(fast, 3)] == [3, 4, 5]


async def test_close_ends_every_subscription_after_its_buffer() -> None:
    before = watchers()
    broadcaster = Broadcaster(buffer=10)
    first = broadcaster.subscribe("/x")
    second = broadcaster.subscribe("/y")
    assert watchers() == before + 2
    broadcaster.publish([event(1, "/x/1")])
    broadcaster.close()
    assert watchers() == before
    assert [e.revision for e in await drain(first)] == [1]
    assert await drain(second) == []
    assert await drain(broadcaster.subscribe("/z")) == []


async def test_unsubscribing_drops_the_buffer_and_stops_delivery() -> None:
    broadcaster = Broadcaster(buffer=10)
    sub = broadcaster.subscribe("")
    broadcaster.publish([event(1, "/a")])
    sub.close()
    broadcaster.publish([event(2, "/a")])
    assert await drain(sub) == []
    assert len(broadcaster) == 0


async def test_a_thousand_subscribers() -> None:
    broadcaster = Broadcaster(buffer=200)
    subs = [broadcaster.subscribe(f"/r{i % 10}/") for i in range(1000)]
    batch = [event(i + 1, f"/r{i % 10}/k{i}") for i in range(100)]
    broadcaster.publish(batch)
    for i, sub in enumerate(subs):
        got = await take(sub, 10)
        assert all(e.kv.key.startswith(f"/r{i % 10}/") for e in got)
    broadcaster.close()

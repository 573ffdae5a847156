"""Watch resumption decided against scripted streams: from the last resourceVersion, once."""

from __future__ import annotations

import orjson
import pytest

from corral.client import Client, ConnectionFailed, ResourceRef
from corral.machinery.status import Expired, Gone, InternalError, TooManyRequests

from .fakes import FakeSleep, FakeStream, FakeTransport, answer, drain, event, policy, status

CMS = ResourceRef("", "v1", "configmaps")


def error_line(code: int, reason: str) -> bytes:
    return orjson.dumps({"type": "ERROR", "object": status(code, reason, "too old")})


async def test_resumes_from_last_event_and_bookmark_after_stream_end_and_drop() -> None:
    t = FakeTransport(
        FakeStream([event("ADDED", "a", "5"), event("BOOKMARK", "", "8")]),
        FakeStream([event("MODIFIED", "a", "9")], fail=ConnectionResetError()),
        FakeStream([event("DELETED", "a", "12")], fail=ConnectionResetError()),
    )
    sleep = FakeSleep()
    c = Client(t, retry=policy(sleep))
    got = []
    async with c.watch(CMS, namespace="ns", resource_version="3", timeout_seconds=1) as w:
        async for type_, obj in w:
            got.append((type_, obj["metadata"]["resourceVersion"]))
            if len(got) == 3:
                break
    assert got == [("ADDED", "5"), ("MODIFIED", "9"), ("DELETED", "12")]
    assert [s.query["resourceVersion"] for s in t.sent] == ["3", "8", "9"]
    assert all(s.query["allowWatchBookmarks"] == "true" for s in t.sent)
    assert all(s.query["timeoutSeconds"] == "1" for s in t.sent)
    assert t.sent[0].path == "/api/v1/namespaces/ns/configmaps"
    assert sleep.waits == [0.1]  # the drop is followed by a backoff; a clean end is not


async def test_bookmarks_are_yielded_when_asked() -> None:
    t = FakeTransport(FakeStream([event("BOOKMARK", "", "8"), event("ADDED", "a", "9")]))
    c = Client(t, retry=policy(FakeSleep()))
    async with c.watch(CMS, bookmarks=True, resume=False) as w:
        types = [e.type async for e in w]
    assert types == ["BOOKMARK", "ADDED"]


async def test_without_resume_the_watch_ends_with_the_stream() -> None:
    t = FakeTransport(FakeStream([event("ADDED", "a", "5")]))
    c = Client(t, retry=policy(FakeSleep()))
    async with c.watch(CMS, resume=False) as w:
        assert [e.object["metadata"]["name"] async for e in w] == ["a"]
    assert "resourceVersion" not in t.sent[0].query


@pytest.mark.parametrize(("reason", "cls"), [("Expired", Expired), ("Gone", Gone)])
async def test_410_error_event_is_raised_never_skipped(reason: str, cls: type) -> None:
    t = FakeTransport(FakeStream([event("ADDED", "a", "5"), error_line(410, reason)]))
    c = Client(t, retry=policy(FakeSleep()))
    seen: list[str] = []
    with pytest.raises(cls):
        await drain(c.watch(CMS, resource_version="1"), seen)
    assert seen == ["ADDED"]
    assert len(t.sent) == 1


async def test_other_error_events_raise_their_status() -> None:
    t = FakeTransport(FakeStream([error_line(500, "InternalError")]))
    with pytest.raises(InternalError):
        await drain(Client(t, retry=policy(FakeSleep())).watch(CMS))


async def test_failed_open_is_retried_with_retry_after_then_raised() -> None:
    busy = FakeStream(
        status=429,
        headers={"retry-after": "2"},
        body=orjson.dumps(status(429, "TooManyRequests")),
    )
    t = FakeTransport(busy, busy)
    sleep = FakeSleep()
    with pytest.raises(TooManyRequests):
        await drain(Client(t, retry=policy(sleep, 2)).watch(CMS))
    assert sleep.waits == [2.0]


async def test_consecutive_drops_are_bounded() -> None:
    t = FakeTransport(ConnectionRefusedError(), ConnectionRefusedError())
    with pytest.raises(ConnectionFailed):
        await drain(Client(t, retry=policy(FakeSleep(), 2)).watch(CMS))
    assert len(t.sent) == 2


async def test_watch_expired_410_answer_on_open() -> None:
    gone = answer(410, status(410, "Expired"))
    t = FakeTransport(FakeStream(status=410, body=gone.body))
    with pytest.raises(Expired):
        await drain(Client(t, retry=policy(FakeSleep())).watch(CMS, resource_version="1"))


async def test_streams_ending_at_once_without_events_back_off() -> None:
    t = FakeTransport(FakeStream(), FakeStream(), FakeStream([event("ADDED", "a", "5")]))
    sleep = FakeSleep()
    c = Client(t, retry=policy(sleep))
    async with c.watch(CMS, resource_version="3") as w:
        async for e in w:
            assert e.object["metadata"]["name"] == "a"
            break
    assert sleep.waits == [0.1, 0.2]
    assert len(t.sent) == 3

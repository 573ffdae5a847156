"""The retry rules, decided against a scripted transport with fake time.

429/5xx with Retry-After: retried for every verb after the asked wait.
No answer at all: retried for reads and resourceVersion-pinned writes only;
a blind create is sent exactly once.
"""

from __future__ import annotations

import pytest

from corral.client import (
    Client,
    ConnectionFailed,
    PatchType,
    Preconditions,
    RequestTimeout,
    ResourceRef,
)
from corral.machinery.status import InternalError, ServiceUnavailable, TooManyRequests

from .fakes import FakeSleep, FakeTransport, answer, policy, status

CMS = ResourceRef("", "v1", "configmaps")
CM = {"metadata": {"name": "a", "namespace": "ns"}, "data": {"k": "v"}}
PINNED = {"metadata": {"name": "a", "namespace": "ns", "resourceVersion": "7"}}


def client(*steps: object, attempts: int = 4) -> tuple[Client, FakeTransport, FakeSleep]:
    transport = FakeTransport(*steps)  # type: ignore[arg-type]
    sleep = FakeSleep()
    return Client(transport, retry=policy(sleep, attempts)), transport, sleep


async def test_429_with_retry_after_is_retried_even_for_create() -> None:
    c, t, sleep = client(
        answer(429, status(429, "TooManyRequests"), retry_after="2"), answer(201, CM)
    )
    assert await c.create(CMS, CM) == CM
    assert [s.method for s in t.sent] == ["POST", "POST"]
    assert sleep.waits == [2.0]


async def test_503_with_status_retry_after_seconds_is_retried() -> None:
    body = status(503, "ServiceUnavailable", retryAfterSeconds=3)
    c, _, sleep = client(answer(503, body), answer(200, CM))
    assert await c.get(CMS, "a", namespace="ns") == CM
    assert sleep.waits == [3.0]


async def test_5xx_without_retry_after_is_not_retried() -> None:
    c, t, _ = client(answer(500, status(500, "InternalError", "boom")))
    with pytest.raises(InternalError, match="boom"):
        await c.get(CMS, "a")
    assert len(t.sent) == 1


async def test_retry_after_is_bounded_by_max_attempts() -> None:
    busy = answer(429, status(429, "TooManyRequests"), retry_after="1")
    c, t, sleep = client(busy, busy, busy, attempts=3)
    with pytest.raises(TooManyRequests):
        await c.create(CMS, CM)
    assert len(t.sent) == 3
    assert sleep.waits == [1.0, 1.0]


async def test_retry_after_is_capped() -> None:
    c, _, sleep = client(answer(503, None, retry_after="3600"), answer(200, CM))
    await c.get(CMS, "a")
    assert sleep.waits == [60.0]


async def test_blind_create_is_never_retried_after_a_dropped_connection() -> None:
    c, t, sleep = client(ConnectionResetError("reset by peer"), answer(201, CM))
    with pytest.raises(ConnectionFailed):
        await c.create(CMS, CM)
    assert len(t.sent) == 1
    assert sleep.waits == []


async def test_reads_are_retried_after_a_dropped_connection_with_backoff() -> None:
    c, t, sleep = client(ConnectionResetError(), TimeoutError(), answer(200, {"items": []}))
    assert await c.list(CMS) == {"items": []}
    assert len(t.sent) == 3
    assert sleep.waits == [0.1, 0.2]


async def test_read_gives_up_after_max_attempts() -> None:
    c, t, _ = client(TimeoutError(), TimeoutError(), attempts=2)
    with pytest.raises(RequestTimeout):
        await c.get(CMS, "a")
    assert len(t.sent) == 2


async def test_update_is_retried_only_with_a_resource_version() -> None:
    c, t, _ = client(ConnectionResetError(), answer(200, PINNED))
    assert await c.update(CMS, PINNED) == PINNED
    assert len(t.sent) == 2
    c, t, _ = client(ConnectionResetError(), answer(200, CM))
    with pytest.raises(ConnectionFailed):
        await c.update(CMS, CM)
    assert len(t.sent) == 1


async def test_patch_is_retried_only_when_it_pins_the_resource_version() -> None:
    test_op = [{"op": "test", "path": "/metadata/resourceVersion", "value": "7"}]
    c, t, _ = client(ConnectionResetError(), answer(200, CM))
    await c.patch(CMS, "a", test_op, patch_type=PatchType.JSON)
    assert len(t.sent) == 2
    c, t, _ = client(ConnectionResetError(), answer(200, CM))
    await c.patch(CMS, "a", {"metadata": {"resourceVersion": "7"}, "data": {"k": "w"}})
    assert len(t.sent) == 2
    c, t, _ = client(ConnectionResetError())
    with pytest.raises(ConnectionFailed):
        await c.patch(CMS, "a", {"data": {"k": "w"}})
    assert len(t.sent) == 1


async def test_delete_is_retried_only_with_a_resource_version_precondition() -> None:
    c, t, _ = client(ConnectionResetError(), answer(200, CM))
    await c.delete(CMS, "a", preconditions=Preconditions(resource_version="7"))
    assert len(t.sent) == 2
    assert t.sent[0].body["preconditions"] == {"resourceVersion": "7"}
    c, t, _ = client(ConnectionResetError())
    with pytest.raises(ConnectionFailed):
        await c.delete(CMS, "a")
    assert len(t.sent) == 1


async def test_503_plain_text_is_retried_with_header_and_then_raised() -> None:
    down = answer(503, None, retry_after="0")
    c, t, sleep = client(down, down, attempts=2)
    with pytest.raises(ServiceUnavailable):
        await c.delete(CMS, "a")
    assert len(t.sent) == 2
    assert sleep.waits == [0.0]

"""Controllers against a real server: named handlers in order, retries, requeue_after,
remove handlers and the finalizer lifecycle. Polls with deadlines, no fixed sleeps."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY

from corral.client import Client
from corral.controller import (
    Controller,
    Informer,
    ItemExponentialRateLimiter,
    Result,
    WorkQueue,
)
from corral.machinery.status import Conflict, NotFound
from serverproc import CorralServer, module_server

from .live import CMS, cm, eventually, new_namespace

FINALIZER = "test.corral.dev/cleanup"


server = module_server("controller")


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as c:
        yield c


@asynccontextmanager
async def running(controller: Controller) -> AsyncIterator[None]:
    informer = asyncio.create_task(controller.informer.run())
    workers = asyncio.create_task(controller.run())
    try:
        yield
    finally:
        await controller.stop()
        await asyncio.wait_for(workers, 5)
        await controller.informer.stop()
        await asyncio.wait_for(informer, 5)


def fast_queue(name: str) -> WorkQueue[str]:
    return WorkQueue(name, rate_limiter=ItemExponentialRateLimiter(0.01, 0.2))


def errors(controller: str, handler: str) -> float:
    value = REGISTRY.get_sample_value(
        "corral_controller_reconcile_errors_total",
        {"controller": controller, "handler": handler},
    )
    return value or 0.0


async def test_handlers_run_in_order_retry_and_requeue(client: Client) -> None:
    ns = await new_namespace(client)
    calls: list[tuple[str, str]] = []
    failures_left = {"value": 3}
    requeued: list[float] = []
    informer = Informer(client, CMS, namespace=ns)
    ctl = Controller("test-order", informer, workers=2, queue=fast_queue("test-order"))

    async def first(key: str, obj: dict[str, Any] | None) -> Result | None:
        calls.append(("first", key))
        if key.endswith("/flaky") and failures_left["value"] > 0:
            failures_left["value"] -= 1
            raise RuntimeError("not yet")
        return None

    async def second(key: str, obj: dict[str, Any] | None) -> Result | None:
        calls.append(("second", key))
        if key.endswith("/periodic") and obj is not None:
            requeued.append(time.monotonic())
            if len(requeued) < 3:
                return Result(requeue_after=0.1)
        return None

    ctl.on_change("first", first)
    ctl.on_change("second", second)
    async with running(ctl):
        await client.create(CMS, cm("flaky"), namespace=ns)
        await eventually(lambda: ("second", f"{ns}/flaky") in calls)
        flaky = [name for name, key in calls if key == f"{ns}/flaky"]
        # three failures of "first" (never followed by "second"), then both in order
        assert flaky == ["first", "first", "first", "first", "second"]
        assert errors("test-order", "first") >= 3
        assert ctl.queue.num_requeues(f"{ns}/flaky") == 0  # forgotten after success
        passes = REGISTRY.get_sample_value(
            "corral_controller_reconcile_duration_seconds_count", {"controller": "test-order"}
        )
        assert passes is not None
        assert passes >= 4

        await client.create(CMS, cm("periodic"), namespace=ns)
        await eventually(lambda: len(requeued) >= 3)
        # each pass asked to be called again in 0.1 s (and nothing else changed)
        assert requeued[1] - requeued[0] >= 0.09
        assert requeued[2] - requeued[1] >= 0.09


async def test_a_lost_compare_and_swap_is_retried_without_an_error_log(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    ns = await new_namespace(client)
    tries: list[str] = []
    informer = Informer(client, CMS, namespace=ns)
    ctl = Controller("test-conflict", informer, queue=fast_queue("test-conflict"))

    async def update(key: str, obj: dict[str, Any] | None) -> Result | None:
        tries.append(key)
        if len(tries) == 1:
            raise Conflict("configmaps", "raced")
        return None

    ctl.on_change("update", update)
    with caplog.at_level(logging.INFO, logger="corral.controller"):
        async with running(ctl):
            await client.create(CMS, cm("raced"), namespace=ns)
            await eventually(lambda: len(tries) >= 2)
    assert errors("test-conflict", "update") >= 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_on_change_and_on_remove_when_gone(client: Client) -> None:
    ns = await new_namespace(client)
    changed: list[tuple[str, bool]] = []
    removed: list[dict[str, Any]] = []
    informer = Informer(client, CMS, namespace=ns)
    ctl = Controller("test-gone", informer, queue=fast_queue("test-gone"))

    async def on_change(key: str, obj: dict[str, Any] | None) -> None:
        changed.append((key, obj is None))

    async def on_remove(key: str, obj: dict[str, Any]) -> None:
        removed.append(obj)

    ctl.on_change("track", on_change)
    ctl.on_remove("cleanup", on_remove)
    async with running(ctl):
        await client.create(CMS, cm("a", k="v"), namespace=ns)
        await eventually(lambda: (f"{ns}/a", False) in changed)
        await client.delete(CMS, "a", namespace=ns)
        await eventually(lambda: (f"{ns}/a", True) in changed and len(removed) == 1)
        assert removed[0]["data"] == {"k": "v"}


async def test_finalizer_lifecycle(client: Client) -> None:
    ns = await new_namespace(client)
    cleaned: list[str] = []
    informer = Informer(client, CMS, namespace=ns)
    ctl = Controller("test-finalizer", informer, queue=fast_queue("test-finalizer"))

    async def cleanup(key: str, obj: dict[str, Any]) -> None:
        assert obj["metadata"].get("deletionTimestamp")
        cleaned.append(key)

    ctl.on_remove("cleanup", cleanup, finalizer=FINALIZER)
    async with running(ctl):
        await client.create(CMS, cm("f"), namespace=ns)

        async def has_finalizer() -> bool:
            got = await client.get(CMS, "f", namespace=ns)
            return FINALIZER in (got["metadata"].get("finalizers") or [])

        await eventually(has_finalizer)
        assert cleaned == []
        await client.delete(CMS, "f", namespace=ns)

        async def gone() -> bool:
            try:
                await client.get(CMS, "f", namespace=ns)
            except NotFound:
                return True
            return False

        await eventually(gone)
        assert cleaned == [f"{ns}/f"]

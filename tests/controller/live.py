"""Helpers shared by the controller tests that run against a real server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from corral.client import Client, ResourceRef

CMS = ResourceRef("", "v1", "configmaps", kind="ConfigMap")
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, kind="Namespace")


async def new_namespace(client: Client) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


async def eventually(check: Callable[[], Awaitable[bool] | bool], deadline: float = 10.0) -> None:
    """Poll `check` until it holds; fail at the deadline (never a fixed sleep)."""
    end = time.monotonic() + deadline
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < end, "condition not met before the deadline"
        await asyncio.sleep(0.02)

"""Helpers shared by the controller tests that run against a real server."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import polling
from corral.client import Client, ResourceRef

CMS = ResourceRef("", "v1", "configmaps", kind="ConfigMap")
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, kind="Namespace")


async def new_namespace(client: Client) -> str:
    name = "t-" + uuid.uuid4().hex[:8]
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


eventually = partial(polling.eventually, deadline=10.0, interval=0.02)

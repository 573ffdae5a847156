"""The namespace controller against an in-process API server (memory backend, loopback).

Deleting a namespace removes every namespaced object in it — built-in kinds
and custom resources, found by discovery — then the namespace itself.
Content held by its own finalizers keeps the namespace Terminating, with the
conditions Kubernetes writes (exact reasons and messages), until it goes.
The condition bookkeeping is also checked on its own. No fixed sleeps.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from controllerthread import new_context, running
from corral.apiserver import (
    LoopbackTransport,
)
from corral.client import Client, PatchType, ResourceRef
from corral.kube import namespace
from corral.kube.context import KubeOptions
from corral.kube.namespace import NamespaceDeleter, NamespaceDeletionError
from corral.kube.namespace.conditions import (
    CONDITION_TYPES,
    CONTENT_FAILURE,
    CONTENT_REMAINING,
    DISCOVERY_FAILURE,
    FINALIZERS_REMAINING,
    ConditionUpdater,
)
from corral.kube.resources import CONFIG_MAPS, NAMESPACES, PODS, SECRETS, SERVICE_ACCOUNTS
from corral.machinery.status import NotFound, ServiceUnavailable
from customresources import CRDS, open_crd
from inprocess import inprocess_api
from polling import eventually

Obj = dict[str, Any]
DEADLINE = 20.0
THINGS = ResourceRef("example.com", "v1", "things", kind="Thing")


wait_for = partial(eventually, deadline=DEADLINE, interval=0.02)


class BrokenGroupClient(Client):
    """A client whose discovery of one group version fails (as a broken aggregated API would)."""

    broken = "/apis/apps/v1"

    async def get_path(self, path: str) -> dict[str, Any]:
        if path == self.broken:
            raise ServiceUnavailable("the server is currently unable to handle the request")
        return await super().get_path(path)


@asynccontextmanager
async def serving(*, controller: bool) -> AsyncIterator[tuple[Client, BrokenGroupClient]]:
    """An in-process server; the namespace controller runs against it if asked."""
    async with inprocess_api() as server:
        broken = BrokenGroupClient(
            LoopbackTransport(server.app, server.loopback.issue("system:broken"))
        )
        async with broken, server.client_for("system:kube-controller-manager") as api:
            ctx = new_context(api, options=KubeOptions(workers=2))
            async with running(ctx, namespace.build(ctx) if controller else []):
                yield api, broken


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with serving(controller=True) as (api, _):
        yield api


async def namespace_gone(client: Client, name: str) -> bool:
    try:
        await client.get(NAMESPACES, name)
    except NotFound:
        return True
    return False


async def make_namespace(client: Client) -> str:
    name = "ns-" + uuid.uuid4().hex[:6]
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name


async def test_deleting_a_namespace_deletes_its_content_then_itself(client: Client) -> None:
    await client.create(CRDS, open_crd("things", "Thing"))

    async def served() -> bool:
        try:
            await client.list(THINGS, namespace="default")
        except NotFound:
            return False
        return True

    await wait_for(served, "things served")
    ns = await make_namespace(client)
    await client.create(CONFIG_MAPS, {"metadata": {"name": "cm"}}, namespace=ns)
    await client.create(SECRETS, {"metadata": {"name": "s"}}, namespace=ns)
    # The service account controller is not running here; pods need their account.
    await client.create(SERVICE_ACCOUNTS, {"metadata": {"name": "default"}}, namespace=ns)
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    await client.create(PODS, pod, namespace=ns)
    await client.create(
        THINGS,
        {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}},
        namespace=ns,
    )
    await client.delete(NAMESPACES, ns)
    await wait_for(lambda: namespace_gone(client, ns), "namespace deleted")
    for ref in (CONFIG_MAPS, SECRETS, PODS, THINGS, SERVICE_ACCOUNTS):
        listed = await client.list(ref, namespace=ns)
        assert listed["items"] == [], ref


def conditions_of(ns: Obj) -> dict[str, Obj]:
    return {c["type"]: c for c in (ns.get("status") or {}).get("conditions") or []}


async def test_content_with_finalizers_keeps_the_namespace_terminating(client: Client) -> None:
    ns = await make_namespace(client)
    for name in ("held-1", "held-2"):
        body = {"metadata": {"name": name, "finalizers": ["example.com/hold"]}}
        await client.create(CONFIG_MAPS, body, namespace=ns)
    await client.create(SECRETS, {"metadata": {"name": "free"}}, namespace=ns)
    await client.delete(NAMESPACES, ns)

    async def remaining() -> Obj | None:
        got = await client.get(NAMESPACES, ns)
        found = conditions_of(got).get(CONTENT_REMAINING)
        return got if found and found["status"] == "True" else None

    got = await wait_for(remaining, "NamespaceContentRemaining reported")
    assert got["status"]["phase"] == "Terminating"
    conditions = conditions_of(got)
    assert list(conditions) == list(CONDITION_TYPES)
    assert conditions[CONTENT_REMAINING]["reason"] == "SomeResourcesRemain"
    assert conditions[CONTENT_REMAINING]["message"] == (
        "Some resources are remaining: configmaps. has 2 resource instances"
    )
    assert conditions[FINALIZERS_REMAINING]["status"] == "True"
    assert conditions[FINALIZERS_REMAINING]["reason"] == "SomeFinalizerRemain"
    assert conditions[FINALIZERS_REMAINING]["message"] == (
        "Some finalizers are remaining: example.com/hold in 2 resource instances"
    )
    assert conditions[DISCOVERY_FAILURE]["status"] == "False"
    assert conditions[DISCOVERY_FAILURE]["reason"] == "ResourcesDiscovered"
    assert conditions[CONTENT_FAILURE]["status"] == "False"
    assert "kubernetes" in got["spec"]["finalizers"]
    assert (await client.list(SECRETS, namespace=ns))["items"] == []
    for name in ("held-1", "held-2"):
        await client.patch(
            CONFIG_MAPS,
            name,
            {"metadata": {"finalizers": None}},
            patch_type=PatchType.MERGE,
            namespace=ns,
        )
    await wait_for(lambda: namespace_gone(client, ns), "namespace deleted once content went")


def test_condition_updater_writes_all_five_and_moves_times_only_on_flips() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ns: Obj = {"metadata": {"name": "x"}}
    first = ConditionUpdater(now=start)
    first.content_totals({CONFIG_MAPS: 1, THINGS: 3}, {"a/b": 1, "c": 3})
    first.content_failed("boom 2")
    first.content_failed("boom 1")
    assert first.update(ns)
    got = conditions_of(ns)
    assert got[CONTENT_REMAINING]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances, "
        "things.example.com has 3 resource instances"
    )
    assert got[FINALIZERS_REMAINING]["message"] == (
        "Some finalizers are remaining: a/b in 1 resource instances, c in 3 resource instances"
    )
    assert got[CONTENT_FAILURE] == {
        "type": CONTENT_FAILURE,
        "status": "True",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "reason": "ContentDeletionFailed",
        "message": "Failed to delete all resource types, 2 remaining: boom 1, boom 2",
    }
    # The same findings later: nothing changes, times included.
    same = ConditionUpdater(now=start + timedelta(minutes=1))
    same.content_totals({CONFIG_MAPS: 1, THINGS: 3}, {"a/b": 1, "c": 3})
    same.content_failed("boom 1")
    same.content_failed("boom 2")
    assert not same.update(ns)
    # All clear: every condition flips to its "ok" variant at the new time.
    later = start + timedelta(minutes=2)
    assert ConditionUpdater(now=later).update(ns)
    got = conditions_of(ns)
    assert got[CONTENT_REMAINING] == {
        "type": CONTENT_REMAINING,
        "status": "False",
        "lastTransitionTime": "2026-01-01T00:02:00Z",
        "reason": "ContentRemoved",
        "message": "All content successfully removed",
    }
    assert got[DISCOVERY_FAILURE]["lastTransitionTime"] == "2026-01-01T00:00:00Z"


async def test_a_group_that_cannot_be_discovered_is_reported_and_retried() -> None:
    async with serving(controller=False) as (client, broken):
        await discovery_failure_pass(client, broken)


async def discovery_failure_pass(client: Client, broken: BrokenGroupClient) -> None:
    ns = await make_namespace(client)
    deleter = NamespaceDeleter(broken)
    await client.create(CONFIG_MAPS, {"metadata": {"name": "cm"}}, namespace=ns)
    await client.delete(NAMESPACES, ns)
    with pytest.raises(NamespaceDeletionError, match="apps/v1"):
        await deleter.delete(ns)
    got = await client.get(NAMESPACES, ns)
    found = conditions_of(got)[DISCOVERY_FAILURE]
    assert found["status"] == "True"
    assert found["reason"] == "DiscoveryFailed"
    assert found["message"] == (
        "Discovery failed for some groups, 1 failing: unable to retrieve the complete list "
        "of server APIs: apps/v1: the server is currently unable to handle the request"
    )
    # What could be discovered was deleted all the same; the namespace is not finalized.
    assert (await client.list(CONFIG_MAPS, namespace=ns))["items"] == []
    assert "kubernetes" in got["spec"]["finalizers"]

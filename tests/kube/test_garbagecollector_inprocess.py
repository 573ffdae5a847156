"""The garbage collector against an in-process API server (memory backend, loopback client).

Owners and dependents of built-in kinds and of a custom resource whose CRD is
created after the collector started; Background (the owner is gone),
Foreground (the owner waits for its blocking dependents) and Orphan (the
dependents lose the reference) deletions, set up by hand with the finalizers
the API server adds for those policies; owners with another uid; cluster-
scoped owners and references across namespaces. No fixed sleeps: every wait
polls with a deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from functools import partial
from typing import Any

import pytest

from controllerthread import new_context, running
from corral.client import Client, PatchType, ResourceRef
from corral.kube import garbagecollector
from corral.kube.context import KubeOptions
from corral.kube.garbagecollector import FOREGROUND, ORPHAN, GarbageCollector
from corral.kube.resources import CONFIG_MAPS, NAMESPACES, SECRETS
from corral.machinery.status import NotFound
from customresources import CRDS, open_crd
from inprocess import inprocess_api
from polling import eventually

Obj = dict[str, Any]
DEADLINE = 15.0
GADGETS = ResourceRef("example.com", "v1", "gadgets", kind="Gadget")


wait_for = partial(eventually, deadline=DEADLINE, interval=0.02)


class Cluster:
    """An API server in-process and the garbage collector running against it."""

    def __init__(self, client: Client, gc: GarbageCollector) -> None:
        self.client = client
        self.gc = gc
        self.namespace = "gc-" + uuid.uuid4().hex[:6]

    async def exists(self, ref: ResourceRef, name: str, namespace: str | None = None) -> bool:
        try:
            await self.client.get(ref, name, namespace=namespace or self.namespace)
        except NotFound:
            return False
        return True

    async def gone(self, ref: ResourceRef, name: str, namespace: str | None = None) -> bool:
        return not await self.exists(ref, name, namespace)

    async def configmap(self, name: str, **meta: Any) -> Obj:
        body = {"metadata": {"name": name, **meta}, "data": {"k": "v"}}
        return await self.client.create(CONFIG_MAPS, body, namespace=self.namespace)

    async def secret(self, name: str, *owners: Obj, block: bool = False, **meta: Any) -> Obj:
        refs = [owner_ref(o, block=block) for o in owners]
        body = {"metadata": {"name": name, "ownerReferences": refs, **meta}}
        return await self.client.create(SECRETS, body, namespace=self.namespace)

    async def unfinalize(self, ref: ResourceRef, name: str) -> None:
        patch = {"metadata": {"finalizers": None}}
        with suppress(NotFound):
            await self.client.patch(
                ref, name, patch, patch_type=PatchType.MERGE, namespace=self.namespace
            )


def owner_ref(owner: Obj, *, block: bool = False) -> Obj:
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with (
        inprocess_api() as api,
        api.client_for("system:kube-controller-manager") as client,
    ):
        ctx = new_context(client, options=KubeOptions(workers=2))
        async with running(ctx, garbagecollector.build(ctx)) as parts:
            gc = parts[0]
            assert isinstance(gc, GarbageCollector)
            the = Cluster(client, gc)
            await client.create(NAMESPACES, {"metadata": {"name": the.namespace}})
            await wait_for(lambda: gc.monitors.get(SECRETS) is not None, "secrets watched")
            await wait_for(gc.monitors.all_synced, "every monitor listed")
            yield the


async def test_background_dependents_go_after_their_owner(cluster: Cluster) -> None:
    owner = await cluster.configmap("owner")
    await cluster.secret("dep-1", owner)
    await cluster.secret("dep-2", owner)
    other = await cluster.configmap("other")
    await cluster.secret("kept", other)
    # Wait until the collector has indexed the dependents before deleting the owner.
    await wait_for(
        lambda: len(cluster.gc.collector.index.dependents(owner["metadata"]["uid"])) == 2,
        "dependents indexed",
    )
    await cluster.client.delete(CONFIG_MAPS, "owner", namespace=cluster.namespace)
    await wait_for(lambda: cluster.gone(SECRETS, "dep-1"), "dep-1 collected")
    await wait_for(lambda: cluster.gone(SECRETS, "dep-2"), "dep-2 collected")
    assert await cluster.exists(SECRETS, "kept")
    assert not cluster.gc.collector.index.has_dependents(owner["metadata"]["uid"])


async def test_an_owner_with_another_uid_is_gone(cluster: Cluster) -> None:
    owner = await cluster.configmap("same-name")
    stale = {**owner, "metadata": {**owner["metadata"], "uid": str(uuid.uuid4())}}
    await cluster.secret("orphaned", stale)
    await cluster.secret("owned", owner)
    await wait_for(lambda: cluster.gone(SECRETS, "orphaned"), "stale-uid dependent collected")
    assert await cluster.exists(SECRETS, "owned")


async def test_a_dependent_with_one_live_owner_only_loses_the_dead_reference(
    cluster: Cluster,
) -> None:
    alive = await cluster.configmap("alive")
    doomed = await cluster.configmap("doomed")
    await cluster.secret("shared", alive, doomed)
    await cluster.client.delete(CONFIG_MAPS, "doomed", namespace=cluster.namespace)

    async def only_alive() -> bool:
        got = await cluster.client.get(SECRETS, "shared", namespace=cluster.namespace)
        refs = got["metadata"].get("ownerReferences") or []
        return [r["uid"] for r in refs] == [alive["metadata"]["uid"]]

    await wait_for(only_alive, "reference to the deleted owner removed")


async def test_foreground_owner_waits_for_blocking_dependents(cluster: Cluster) -> None:
    owner = await cluster.configmap("fg-owner", finalizers=[FOREGROUND])
    # The blocking dependent holds itself with a finalizer of its own, so the owner
    # must visibly wait; the non-blocking one goes at once.
    await cluster.secret("fg-block", owner, block=True, finalizers=["example.com/hold"])
    await cluster.secret("fg-free", owner)
    uid = owner["metadata"]["uid"]
    await wait_for(
        lambda: len(cluster.gc.collector.index.dependents(uid)) == 2, "dependents indexed"
    )
    await cluster.client.delete(CONFIG_MAPS, "fg-owner", namespace=cluster.namespace)

    async def blocking_marked() -> bool:
        dep = await cluster.client.get(SECRETS, "fg-block", namespace=cluster.namespace)
        return bool(dep["metadata"].get("deletionTimestamp"))

    await wait_for(blocking_marked, "blocking dependent deleted")
    await wait_for(lambda: cluster.gone(SECRETS, "fg-free"), "non-blocking dependent deleted")
    held = await cluster.client.get(CONFIG_MAPS, "fg-owner", namespace=cluster.namespace)
    assert held["metadata"]["deletionTimestamp"]
    assert FOREGROUND in held["metadata"]["finalizers"]
    await cluster.unfinalize(SECRETS, "fg-block")
    await wait_for(lambda: cluster.gone(SECRETS, "fg-block"), "blocking dependent gone")
    await wait_for(lambda: cluster.gone(CONFIG_MAPS, "fg-owner"), "owner gone after it")


async def test_orphan_keeps_dependents_without_the_reference(cluster: Cluster) -> None:
    owner = await cluster.configmap("or-owner", finalizers=[ORPHAN])
    other = await cluster.configmap("or-other")
    await cluster.secret("or-1", owner)
    await cluster.secret("or-2", owner, other)
    uid = owner["metadata"]["uid"]
    await wait_for(
        lambda: len(cluster.gc.collector.index.dependents(uid)) == 2, "dependents indexed"
    )
    await cluster.client.delete(CONFIG_MAPS, "or-owner", namespace=cluster.namespace)
    await wait_for(lambda: cluster.gone(CONFIG_MAPS, "or-owner"), "owner gone")
    one = await cluster.client.get(SECRETS, "or-1", namespace=cluster.namespace)
    two = await cluster.client.get(SECRETS, "or-2", namespace=cluster.namespace)
    assert not one["metadata"].get("ownerReferences")
    assert [r["uid"] for r in two["metadata"]["ownerReferences"]] == [other["metadata"]["uid"]]


async def test_cluster_scoped_owner_and_cross_namespace_reference(cluster: Cluster) -> None:
    owner_ns = await cluster.client.create(
        NAMESPACES, {"metadata": {"name": cluster.namespace + "-o"}}
    )
    # Kept: the owner is cluster-scoped, looked up without a namespace.
    await cluster.secret("by-namespace", owner_ns)
    # Collected: a namespaced owner is looked up in the dependent's namespace only.
    elsewhere = await cluster.client.create(
        CONFIG_MAPS, {"metadata": {"name": "elsewhere"}}, namespace=owner_ns["metadata"]["name"]
    )
    await cluster.secret("cross", elsewhere)
    await wait_for(lambda: cluster.gone(SECRETS, "cross"), "cross-namespace dependent collected")
    assert await cluster.exists(SECRETS, "by-namespace")
    assert await cluster.exists(CONFIG_MAPS, "elsewhere", namespace=owner_ns["metadata"]["name"])


async def test_custom_resources_created_later_are_owners_and_dependents(
    cluster: Cluster,
) -> None:
    await cluster.client.create(CRDS, open_crd("gadgets", "Gadget"))
    await wait_for(lambda: cluster.gc.monitors.get(GADGETS) is not None, "gadgets watched")
    await wait_for(cluster.gc.monitors.all_synced, "gadgets listed")
    owner = await cluster.configmap("cr-owner")
    gadget = await cluster.client.create(
        GADGETS,
        {
            "apiVersion": "example.com/v1",
            "kind": "Gadget",
            "metadata": {"name": "g", "ownerReferences": [owner_ref(owner)]},
        },
        namespace=cluster.namespace,
    )
    await cluster.secret("owned-by-gadget", gadget)
    await wait_for(
        lambda: cluster.gc.collector.index.has_dependents(gadget["metadata"]["uid"]),
        "secret indexed under the gadget",
    )
    await cluster.client.delete(CONFIG_MAPS, "cr-owner", namespace=cluster.namespace)
    await wait_for(lambda: cluster.gone(GADGETS, "g"), "gadget collected")
    await wait_for(lambda: cluster.gone(SECRETS, "owned-by-gadget"), "its secret collected")


async def test_foreground_chain_deletes_dependents_of_dependents(cluster: Cluster) -> None:
    owner = await cluster.configmap("chain-top", finalizers=[FOREGROUND])
    middle = await cluster.client.create(
        CONFIG_MAPS,
        {"metadata": {"name": "chain-middle", "ownerReferences": [owner_ref(owner, block=True)]}},
        namespace=cluster.namespace,
    )
    await cluster.secret("chain-leaf", middle, block=True)
    await wait_for(
        lambda: cluster.gc.collector.index.has_dependents(middle["metadata"]["uid"]),
        "leaf indexed",
    )
    await cluster.client.delete(CONFIG_MAPS, "chain-top", namespace=cluster.namespace)
    await wait_for(lambda: cluster.gone(SECRETS, "chain-leaf"), "leaf collected")
    await wait_for(lambda: cluster.gone(CONFIG_MAPS, "chain-middle"), "middle collected")
    await wait_for(lambda: cluster.gone(CONFIG_MAPS, "chain-top"), "top gone last")


async def test_owner_just_created_is_never_taken_for_gone(cluster: Cluster) -> None:
    # Owner and dependent created back to back: the owner may not be in the
    # collector's cache yet when the dependent is, and must be confirmed live.
    pairs = []
    for i in range(20):
        owner = await cluster.configmap(f"fresh-{i}")
        await cluster.secret(f"fresh-dep-{i}", owner)
        pairs.append(owner["metadata"]["uid"])
    await wait_for(
        lambda: all(cluster.gc.collector.index.has_dependents(uid) for uid in pairs),
        "every dependent indexed",
    )
    for queue in (cluster.gc.monitors.get(SECRETS), cluster.gc.monitors.get(CONFIG_MAPS)):
        assert queue is not None
        await wait_for(
            lambda q=queue: len(q.controller.queue) == 0 and not q.controller.queue.processing,  # type: ignore[misc]
            "queues drained",
        )
    for i in range(20):
        assert await cluster.exists(SECRETS, f"fresh-dep-{i}")


async def test_a_crd_deleted_and_created_again_is_watched_again(cluster: Cluster) -> None:
    await cluster.client.create(CRDS, open_crd("gadgets", "Gadget"))
    await wait_for(lambda: cluster.gc.monitors.get(GADGETS) is not None, "gadgets watched")
    monitor = cluster.gc.monitors.get(GADGETS)
    assert monitor is not None
    await cluster.client.delete(CRDS, "gadgets.example.com")
    await wait_for(lambda: not monitor.serving, "gadgets no longer watched")
    await wait_for(lambda: cluster.gone(CRDS, "gadgets.example.com", ""), "CRD gone")
    await cluster.client.create(CRDS, open_crd("gadgets", "Gadget"))
    await wait_for(lambda: monitor.serving, "gadgets watched again")
    await wait_for(lambda: monitor.informer.has_synced, "gadgets listed again")
    owner = await cluster.configmap("again-owner")

    async def create_gadget() -> bool:
        try:
            await cluster.client.create(
                GADGETS,
                {
                    "apiVersion": "example.com/v1",
                    "kind": "Gadget",
                    "metadata": {"name": "again", "ownerReferences": [owner_ref(owner)]},
                },
                namespace=cluster.namespace,
            )
        except NotFound:
            return False  # not served yet
        return True

    await wait_for(create_gadget, "gadget created")
    await wait_for(lambda: monitor.informer.get(f"{cluster.namespace}/again"), "gadget cached")
    await cluster.client.delete(CONFIG_MAPS, "again-owner", namespace=cluster.namespace)
    await wait_for(lambda: cluster.gone(GADGETS, "again"), "gadget collected")


async def test_every_owner_or_dependent_kind_is_watched_but_events(cluster: Cluster) -> None:
    watched = {(m.ref.group, m.ref.resource) for m in cluster.gc.monitors.by_ref.values()}
    required = {
        ("", "pods"),
        ("apps", "replicasets"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("apps", "controllerrevisions"),
        ("", "configmaps"),
        ("", "secrets"),
        ("", "services"),
        ("", "endpoints"),
        ("discovery.k8s.io", "endpointslices"),
        ("", "serviceaccounts"),
        ("", "persistentvolumeclaims"),
        ("", "namespaces"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    }
    assert required <= watched, required - watched
    assert ("", "events") not in watched
    assert ("events.k8s.io", "events") not in watched

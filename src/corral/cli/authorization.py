"""Wiring RBAC into a built Kubernetes API: policy, index, filters, escalation checks.

`install_rbac` is what start-up (and in-process tests) call once the API
is built and before it serves: it creates or reconciles the bootstrap
policy (``corral.auth.rbac.bootstrap``) straight through the store, starts
the `ObjectFeed` that keeps the `PolicyIndex` current from the watch caches
(readiness check ``rbac-synced``), registers the `RBACAuthorizer` for the
access reviews, and appends the `EscalationCheck` to admission. The
returned authorizer is what the HTTPS app's filters are given.
"""

from __future__ import annotations

import asyncio
import logging

from corral.apiserver import CheckFailed, HealthChecks, KubeAPIServer
from corral.apiserver.authorizer import set_authorizer
from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.objectfeed import ObjectFeed
from corral.apiserver.store import create_object, decode, update_object
from corral.auth.rbac import (
    RBAC_GROUP,
    RBAC_RESOURCES,
    EscalationCheck,
    PolicyIndex,
    RBACAuthorizer,
    default_policy,
    reconcile,
)
from corral.cli.errors import StartupError
from corral.machinery.admission import AdmissionChain
from corral.machinery.status import AlreadyExists, Conflict, StatusError

log = logging.getLogger("corral.cli")

#: How long start-up waits for the first read of the RBAC objects.
SYNC_TIMEOUT = 60.0


async def ensure_default_policy(parts: ServerParts) -> None:
    """Create the bootstrap roles and bindings that are missing; add what stored ones lack."""
    for resource, wanted in default_policy():
        rt = parts.registry.lookup(RBAC_GROUP, "v1", resource)
        assert rt is not None
        name = wanted["metadata"]["name"]
        kv = await parts.backend.get(rt.key("", name))
        try:
            if kv is None:
                await create_object(parts.backend, rt, "", wanted, dry_run=False)
                continue
            changed = reconcile(resource, decode(kv.value, kv.mod_revision), wanted)
            if changed is not None:
                await update_object(parts.backend, rt, "", name, changed)
                log.info("bootstrap RBAC reconciled", extra={"resource": resource, "name": name})
        except (AlreadyExists, Conflict):
            continue  # another replica did it first
        except StatusError as exc:
            log.warning("bootstrap RBAC object refused", extra={"name": name, "error": str(exc)})


async def install_rbac(kube: KubeAPIServer, health: HealthChecks) -> RBACAuthorizer:
    """Make ``kube`` authorize with RBAC; returns the authorizer for the HTTPS filters."""
    parts = kube.api.parts
    await ensure_default_policy(parts)
    index = PolicyIndex()
    authorizer = RBACAuthorizer(index)
    feed = ObjectFeed(parts, RBAC_GROUP, "v1", RBAC_RESOURCES, index)
    feed.start()
    kube.stoppers.append(feed.stop)

    async def synced() -> None:
        if not feed.synced.is_set():
            raise CheckFailed("the RBAC policy has not been read yet")

    health.add_readiness("rbac-synced", synced)
    set_authorizer(parts, authorizer)
    check = EscalationCheck(authorizer)
    parts.admission = check if parts.admission is None else AdmissionChain(parts.admission, check)
    try:
        async with asyncio.timeout(SYNC_TIMEOUT):
            await feed.synced.wait()
    except TimeoutError:
        raise StartupError(
            f"the RBAC policy could not be read within {SYNC_TIMEOUT:g}s (watch caches not synced)"
        ) from None
    return authorizer

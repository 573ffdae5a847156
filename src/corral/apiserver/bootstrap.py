"""The namespaces every cluster has: created at start-up when missing.

``default``, ``kube-system``, ``kube-public`` and ``kube-node-lease``, as
kube-apiserver's bootstrap controller creates them. Creating one that
already exists (another replica, an earlier start) is not an error.
"""

from __future__ import annotations

from corral.apiserver.registry import Registry
from corral.apiserver.store import create_object
from corral.machinery.status import AlreadyExists
from corral.storage import Backend

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def ensure_system_namespaces(backend: Backend, registry: Registry) -> None:
    rt = registry.lookup("", "v1", "namespaces")
    assert rt is not None
    for name in SYSTEM_NAMESPACES:
        if await backend.get(rt.key("", name)) is not None:
            continue
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        try:
            await create_object(backend, rt, "", body, dry_run=False)
        except AlreadyExists:
            continue

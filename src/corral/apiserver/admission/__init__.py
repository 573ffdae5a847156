"""The built-in admission plugins and the chain the write path runs.

Kubernetes runs its admission plugins on every create and update after
validation and before the object is stored (`corral.machinery.admission`
is the contract). Corral's built-in chain, in order:

1. `services.ServiceAllocator` — cluster IPs and node ports (Kubernetes
   does this in the Service storage; here it is a plugin with the same
   behaviour and messages);
2. `limitranger.LimitRanger` — LimitRange defaults and bounds;
3. `resourcequota.ResourceQuotaAdmission` — quota checks and charges.

`build_admission` makes the chain; `ensure_kubernetes_service` creates
``default/kubernetes`` (the first address of the service range, port 443)
at start-up, as kube-apiserver's bootstrap controller does.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral.apiserver.admission.limitranger import LimitRanger
from corral.apiserver.admission.resourcequota import ResourceQuotaAdmission
from corral.apiserver.admission.services import (
    DEFAULT_NODE_PORT_RANGE,
    DEFAULT_SERVICE_CIDR,
    ServiceAllocator,
    ServiceRanges,
    first_service_ip,
)
from corral.apiserver.registry import Registry
from corral.apiserver.store import create_object
from corral.apiserver.watchcache import WatchCaches
from corral.machinery.admission import AdmissionChain
from corral.machinery.status import AlreadyExists, Invalid
from corral.storage import Backend

KUBERNETES_SERVICE = ("default", "kubernetes")
#: The port the ``kubernetes`` Service forwards to (kube-apiserver's secure port).
KUBERNETES_TARGET_PORT = 6443


@dataclass(slots=True)
class BuiltinAdmission:
    """The chain and the parts that run in the background (the allocation repair)."""

    chain: AdmissionChain
    services: ServiceAllocator

    def start(self) -> None:
        self.services.start()

    async def stop(self) -> None:
        await self.services.stop()


def build_admission(
    backend: Backend, ranges: ServiceRanges | None = None, caches: WatchCaches | None = None
) -> BuiltinAdmission:
    """The built-in plugins over ``backend`` (reading LimitRanges and quotas from ``caches``)."""
    services = ServiceAllocator(backend, ranges)
    chain = AdmissionChain(
        services, LimitRanger(backend, caches), ResourceQuotaAdmission(backend, caches)
    )
    return BuiltinAdmission(chain, services)


async def ensure_kubernetes_service(
    backend: Backend, registry: Registry, admission: BuiltinAdmission
) -> None:
    """Create ``default/kubernetes`` unless it exists (another replica may race: fine)."""
    rt = registry.lookup("", "v1", "services")
    assert rt is not None
    namespace, name = KUBERNETES_SERVICE
    if await backend.get(rt.key(namespace, name)) is not None:
        return
    ip = first_service_ip(admission.services.ranges.cidr)
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ports": [
                {
                    "name": "https",
                    "port": 443,
                    "protocol": "TCP",
                    "targetPort": KUBERNETES_TARGET_PORT,
                }
            ],
            "sessionAffinity": "None",
        },
    }
    try:
        await create_object(backend, rt, namespace, body, dry_run=False, admission=admission.chain)
    except (AlreadyExists, Invalid):
        return


__all__ = [
    "DEFAULT_NODE_PORT_RANGE",
    "DEFAULT_SERVICE_CIDR",
    "BuiltinAdmission",
    "ServiceAllocator",
    "ServiceRanges",
    "build_admission",
    "ensure_kubernetes_service",
]

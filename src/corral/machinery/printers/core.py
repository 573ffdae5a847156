"""Tables for the core/v1 kinds other than pods and events.

Services, nodes, namespaces, config maps, secrets, service accounts, endpoints,
persistent volumes and claims, and resource quotas, with the columns and cell
rules of ``pkg/printers/internalversion``. Limit ranges have no printer in
Kubernetes and get the default "Name, Created At" table (see ``table.py``).
Notable decisions, all Kubernetes':

- Service EXTERNAL-IP depends on the type: external IPs or "<none>" for
  ClusterIP/NodePort, load-balancer ingress then external IPs or "<pending>"
  for LoadBalancer, the external name for ExternalName. PORT(S) reads
  "80/TCP,443:30443/TCP" (``port[:nodePort]/protocol``).
- Node STATUS is Ready/NotReady/Unknown from the Ready condition, plus
  "SchedulingDisabled" when cordoned; ROLES come from ``node-role.kubernetes.io/*``
  labels and the legacy ``kubernetes.io/role`` label.
- PV and PVC STATUS turn to "Terminating" once deleted; their access modes are
  abbreviated RWO, ROX, RWX, RWOP.
- Quantities are printed as stored; Corral keeps the canonical form the API
  wrote, so this is ``Quantity.String()`` for objects that went through it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import (
    dig,
    format_labels,
    has,
    integer,
    items,
    mapping,
    name,
    text,
    with_more,
)
from corral.machinery.printers.columns import AGE, NAME, ColumnDefinition, Obj, Printer, wide
from corral.machinery.printers.duration import since


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


# ---- services ----

SERVICE_COLUMNS = (
    NAME,
    ColumnDefinition("Type", description=doc.SVC_TYPE),
    ColumnDefinition("Cluster-IP", description=doc.SVC_CLUSTER_IP),
    ColumnDefinition("External-IP", description=doc.SVC_EXTERNAL_IPS),
    ColumnDefinition("Port(s)", description=doc.SVC_PORTS),
    AGE,
    wide("Selector", doc.SVC_SELECTOR),
)


def load_balancer_ips(status: object) -> str:
    """``loadBalancerStatusStringer`` (wide): each ingress' IP, else its hostname."""
    found = []
    for ingress in items(status, "ingress"):
        address = text(ingress, "ip") or text(ingress, "hostname")
        if address:
            found.append(address)
    return ",".join(found)


def _service_external_ip(svc: Obj) -> str:
    kind = text(svc, "spec", "type") or "ClusterIP"
    external = [str(ip) for ip in items(svc, "spec", "externalIPs")]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        balancer = load_balancer_ips(dig(svc, "status", "loadBalancer"))
        if external:
            return ",".join(([*balancer.split(",")] if balancer else []) + external)
        return balancer or "<pending>"
    if kind == "ExternalName":
        return text(svc, "spec", "externalName")
    return "<unknown>"


def service_ports(ports: list[Any]) -> str:
    """``makePortString``: "80/TCP,443:30443/TCP"."""
    pieces = []
    for port in ports:
        protocol = text(port, "protocol") or "TCP"
        node_port = integer(port, "nodePort")
        number = integer(port, "port")
        pieces.append(
            f"{number}:{node_port}/{protocol}" if node_port > 0 else f"{number}/{protocol}"
        )
    return ",".join(pieces)


def service_cells(svc: Obj, now: datetime) -> list[Any]:
    cluster_ips = items(svc, "spec", "clusterIPs")
    cluster_ip = str(cluster_ips[0]) if cluster_ips else text(svc, "spec", "clusterIP")
    return [
        name(svc),
        text(svc, "spec", "type") or "ClusterIP",
        cluster_ip or "<none>",
        _service_external_ip(svc),
        service_ports(items(svc, "spec", "ports")) or "<none>",
        _age(svc, now),
        format_labels(mapping(svc, "spec", "selector")),
    ]


# ---- nodes ----

NODE_COLUMNS = (
    NAME,
    ColumnDefinition("Status", description="The status of the node"),
    ColumnDefinition("Roles", description="The roles of the node"),
    AGE,
    ColumnDefinition("Version", description=doc.KUBELET_VERSION),
    wide("Internal-IP", doc.NODE_ADDRESSES),
    wide("External-IP", doc.NODE_ADDRESSES),
    wide("OS-Image", doc.OS_IMAGE),
    wide("Kernel-Version", doc.KERNEL_VERSION),
    wide("Container-Runtime", doc.CONTAINER_RUNTIME_VERSION),
)

NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"


def node_roles(node: Obj) -> list[str]:
    """``findNodeRoles``: sorted role names from the node's labels."""
    roles = set()
    for key, value in mapping(node, "metadata", "labels").items():
        if key.startswith(NODE_ROLE_PREFIX) and key[len(NODE_ROLE_PREFIX) :]:
            roles.add(key[len(NODE_ROLE_PREFIX) :])
        elif key == NODE_ROLE_LABEL and value:
            roles.add(str(value))
    return sorted(roles)


def _node_address(node: Obj, kind: str) -> str:
    for address in items(node, "status", "addresses"):
        if text(address, "type") == kind:
            return text(address, "address")
    return "<none>"


def node_cells(node: Obj, now: datetime) -> list[Any]:
    status = []
    for condition in items(node, "status", "conditions"):
        if text(condition, "type") == "Ready":
            status = ["Ready" if text(condition, "status") == "True" else "NotReady"]
    if not status:
        status = ["Unknown"]
    if dig(node, "spec", "unschedulable") is True:
        status.append("SchedulingDisabled")
    info = mapping(node, "status", "nodeInfo")
    return [
        name(node),
        ",".join(status),
        ",".join(node_roles(node)) or "<none>",
        _age(node, now),
        text(info, "kubeletVersion"),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        text(info, "osImage") or "<unknown>",
        text(info, "kernelVersion") or "<unknown>",
        text(info, "containerRuntimeVersion") or "<unknown>",
    ]


# ---- namespaces, config maps, secrets, service accounts ----

NAMESPACE_COLUMNS = (
    NAME,
    ColumnDefinition("Status", description="The status of the namespace"),
    AGE,
)
CONFIGMAP_COLUMNS = (NAME, ColumnDefinition("Data", description=doc.CONFIGMAP_DATA), AGE)
SECRET_COLUMNS = (
    NAME,
    ColumnDefinition("Type", description=doc.SECRET_TYPE),
    ColumnDefinition("Data", description=doc.SECRET_DATA),
    AGE,
)
SERVICE_ACCOUNT_COLUMNS = (NAME, ColumnDefinition("Secrets", description=doc.SA_SECRETS), AGE)


def namespace_cells(ns: Obj, now: datetime) -> list[Any]:
    return [name(ns), text(ns, "status", "phase"), _age(ns, now)]


def configmap_cells(cm: Obj, now: datetime) -> list[Any]:
    count = len(mapping(cm, "data")) + len(mapping(cm, "binaryData"))
    return [name(cm), count, _age(cm, now)]


def secret_cells(secret: Obj, now: datetime) -> list[Any]:
    return [name(secret), text(secret, "type"), len(mapping(secret, "data")), _age(secret, now)]


def service_account_cells(sa: Obj, now: datetime) -> list[Any]:
    return [name(sa), len(items(sa, "secrets")), _age(sa, now)]


# ---- endpoints ----

ENDPOINTS_COLUMNS = (NAME, ColumnDefinition("Endpoints", description=doc.ENDPOINTS_SUBSETS), AGE)


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(endpoints: Obj) -> str:
    """``formatEndpoints``: up to three "ip:port" pairs, then "+ N more..."."""
    subsets = items(endpoints, "subsets")
    if not subsets:
        return "<none>"
    shown: list[str] = []
    for subset in subsets:
        addresses = [text(a, "ip") for a in items(subset, "addresses")]
        ports = items(subset, "ports")
        if not ports:
            shown.extend(addresses)
            continue
        for port in ports:
            shown.extend(_host_port(ip, integer(port, "port")) for ip in addresses)
    return with_more(shown, len(shown))


def endpoints_cells(endpoints: Obj, now: datetime) -> list[Any]:
    return [name(endpoints), format_endpoints(endpoints), _age(endpoints, now)]


# ---- persistent volumes and claims ----

PV_COLUMNS = (
    NAME,
    ColumnDefinition("Capacity", description=doc.PV_CAPACITY),
    ColumnDefinition("Access Modes", description=doc.PV_ACCESS_MODES),
    ColumnDefinition("Reclaim Policy", description=doc.PV_RECLAIM_POLICY),
    ColumnDefinition("Status", description=doc.PV_PHASE),
    ColumnDefinition("Claim", description=doc.PV_CLAIM_REF),
    ColumnDefinition("StorageClass", description="StorageClass of the pv"),
    ColumnDefinition("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
    ColumnDefinition("Reason", description=doc.PV_REASON),
    AGE,
    wide("VolumeMode", doc.PV_VOLUME_MODE),
)
PVC_COLUMNS = (
    NAME,
    ColumnDefinition("Status", description=doc.PVC_PHASE),
    ColumnDefinition("Volume", description=doc.PVC_VOLUME_NAME),
    ColumnDefinition("Capacity", description=doc.PVC_CAPACITY),
    ColumnDefinition("Access Modes", description=doc.PVC_ACCESS_MODES),
    ColumnDefinition("StorageClass", description="StorageClass of the pvc"),
    ColumnDefinition("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
    AGE,
    wide("VolumeMode", doc.PVC_VOLUME_MODE),
)

_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def access_modes(modes: list[Any]) -> str:
    """``GetAccessModesAsString``: "RWO,ROX,RWX,RWOP" in that fixed order."""
    return ",".join(short for mode, short in _ACCESS_MODES if mode in modes)


def _storage_class(obj: Obj) -> str:
    annotations = mapping(obj, "metadata", "annotations")
    if STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[STORAGE_CLASS_ANNOTATION])
    return text(obj, "spec", "storageClassName")


def _quantity(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "0"
    return str(value)


def pv_cells(pv: Obj, now: datetime) -> list[Any]:
    claim = ""
    if has(pv, "spec", "claimRef"):
        claim = (
            f"{text(pv, 'spec', 'claimRef', 'namespace')}/{text(pv, 'spec', 'claimRef', 'name')}"
        )
    phase = text(pv, "status", "phase")
    if has(pv, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    return [
        name(pv),
        _quantity(dig(pv, "spec", "capacity", "storage")),
        access_modes(items(pv, "spec", "accessModes")),
        text(pv, "spec", "persistentVolumeReclaimPolicy"),
        phase,
        claim,
        _storage_class(pv),
        text(pv, "spec", "volumeAttributesClassName") or "<unset>",
        text(pv, "status", "reason"),
        _age(pv, now),
        text(pv, "spec", "volumeMode") or "<unset>",
    ]


def pvc_cells(pvc: Obj, now: datetime) -> list[Any]:
    phase = text(pvc, "status", "phase")
    if has(pvc, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    capacity = modes = ""
    volume = text(pvc, "spec", "volumeName")
    if volume:
        modes = access_modes(items(pvc, "status", "accessModes"))
        capacity = _quantity(dig(pvc, "status", "capacity", "storage"))
    return [
        name(pvc),
        phase,
        volume,
        capacity,
        modes,
        _storage_class(pvc),
        text(pvc, "spec", "volumeAttributesClassName") or "<unset>",
        _age(pvc, now),
        text(pvc, "spec", "volumeMode") or "<unset>",
    ]


# ---- resource quotas ----

QUOTA_COLUMNS = (
    NAME,
    ColumnDefinition(
        "Request",
        description=(
            "Request represents a minimum amount of cpu/memory that a container may consume."
        ),
    ),
    ColumnDefinition(
        "Limit",
        description=(
            "Limits control the maximum amount of cpu/memory that a container may use "
            "independent of contention on the node."
        ),
    ),
    AGE,
)


def quota_cells(quota: Obj, now: datetime) -> list[Any]:
    """ "resource: used/hard" pairs, ``limits.*`` in LIMIT and the rest in REQUEST."""
    hard = mapping(quota, "status", "hard")
    used = mapping(quota, "status", "used")
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        pieces = resource.split(".")
        column = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        column.append(f"{resource}: {_quantity(used.get(resource))}/{_quantity(hard[resource])}")
    return [name(quota), ", ".join(requests), ", ".join(limits), _age(quota, now)]


PRINTERS = {
    ("", "services"): Printer(SERVICE_COLUMNS, service_cells),
    ("", "nodes"): Printer(NODE_COLUMNS, node_cells),
    ("", "namespaces"): Printer(NAMESPACE_COLUMNS, namespace_cells),
    ("", "configmaps"): Printer(CONFIGMAP_COLUMNS, configmap_cells),
    ("", "secrets"): Printer(SECRET_COLUMNS, secret_cells),
    ("", "serviceaccounts"): Printer(SERVICE_ACCOUNT_COLUMNS, service_account_cells),
    ("", "endpoints"): Printer(ENDPOINTS_COLUMNS, endpoints_cells),
    ("", "persistentvolumes"): Printer(PV_COLUMNS, pv_cells),
    ("", "persistentvolumeclaims"): Printer(PVC_COLUMNS, pvc_cells),
    ("", "resourcequotas"): Printer(QUOTA_COLUMNS, quota_cells),
}

"""Defaults for core/v1 kinds other than Pods: Services, Secrets, Namespaces, volumes' claims.

Decides what ``kubectl get -o yaml`` shows for these kinds in Kubernetes 1.32
(``pkg/apis/core/v1/defaults.go`` plus what the registries' create strategies
set): a Service's type, session affinity, port protocols and target ports,
traffic policies and IP family fields (the clusterIP itself is allocated
elsewhere; a given ``clusterIP`` and ``clusterIPs`` are kept in step); a
Secret's type and its ``stringData`` folded into base64 ``data``; a
Namespace's ``kubernetes`` finalizer, its ``kubernetes.io/metadata.name``
label and ``Active`` phase; a PersistentVolume's and a claim's volume mode,
reclaim policy and ``Pending`` phase; Endpoints' port protocols.
"""

from __future__ import annotations

import base64

from corral.machinery.validation.common import Obj, child, items, mapping, text

METADATA_NAME_LABEL = "kubernetes.io/metadata.name"
_EXTERNAL = ("NodePort", "LoadBalancer")
_EXTERNAL_TRAFFIC_ANNOTATION = "service.beta.kubernetes.io/external-traffic"


def default_service(svc: Obj) -> None:
    """``SetDefaults_Service`` and the IP family fields the Service REST storage sets."""
    spec = child(svc, "spec")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        client_ip = mapping(mapping(spec.get("sessionAffinityConfig")).get("clientIP"))
        if "timeoutSeconds" not in client_ip:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    spec.setdefault("type", "ClusterIP")
    for port in items(spec.get("ports")):
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if port.get("targetPort") in (None, 0, "") and "port" in port:
                port["targetPort"] = port["port"]
    annotations = mapping(mapping(svc.get("metadata")).get("annotations"))
    external = spec["type"] in _EXTERNAL
    if external and _EXTERNAL_TRAFFIC_ANNOTATION not in annotations:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] in ("ClusterIP", *_EXTERNAL):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if spec["type"] != "ExternalName":
        _default_cluster_ips(spec)
    child(svc, "status").setdefault("loadBalancer", {})


def _default_cluster_ips(spec: Obj) -> None:
    cluster_ip, cluster_ips = text(spec.get("clusterIP")), items(spec.get("clusterIPs"))
    if cluster_ip and not cluster_ips:
        spec["clusterIPs"] = [cluster_ip]
    elif cluster_ips and not cluster_ip and isinstance(cluster_ips[0], str):
        spec["clusterIP"] = cluster_ips[0]
    headless_selectorless = spec.get("clusterIP") == "None" and not spec.get("selector")
    if headless_selectorless:
        spec.setdefault("ipFamilyPolicy", "RequireDualStack")
    else:
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if not spec.get("ipFamilies"):
        spec["ipFamilies"] = ["IPv4"]


def default_secret(secret: Obj) -> None:
    """``SetDefaults_Secret`` (type Opaque) and ``stringData`` merged into ``data``."""
    if not secret.get("type"):
        secret["type"] = "Opaque"
    string_data = secret.get("stringData")
    if not isinstance(string_data, dict):
        return
    del secret["stringData"]
    if string_data:
        data = child(secret, "data")
        for k, v in string_data.items():
            data[k] = base64.b64encode(text(v).encode()).decode("ascii")


def default_namespace(namespace: Obj) -> None:
    """The ``kubernetes`` finalizer, the metadata-name label and the ``Active`` phase."""
    meta = child(namespace, "metadata")
    name = text(meta.get("name"))
    if name:
        child(meta, "labels")[METADATA_NAME_LABEL] = name
    spec = child(namespace, "spec")
    if "finalizers" not in spec:
        spec["finalizers"] = ["kubernetes"]
    child(namespace, "status").setdefault("phase", "Active")


def default_claim_spec(spec: Obj) -> None:
    """``SetDefaults_PersistentVolumeClaimSpec``."""
    spec.setdefault("volumeMode", "Filesystem")


def default_claim(claim: Obj) -> None:
    """A PersistentVolumeClaim (or a StatefulSet's claim template)."""
    default_claim_spec(child(claim, "spec"))
    child(claim, "status").setdefault("phase", "Pending")


def default_persistent_volume(pv: Obj) -> None:
    """``SetDefaults_PersistentVolume``."""
    spec = child(pv, "spec")
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    child(pv, "status").setdefault("phase", "Pending")


def default_endpoints(endpoints: Obj) -> None:
    """``SetDefaults_Endpoints``: every port's protocol is TCP unless given."""
    for subset in items(endpoints.get("subsets")):
        for port in items(mapping(subset).get("ports")):
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")

"""Semantic rules for Services (``ValidateService``/``ValidateServiceUpdate``, Kubernetes 1.32).

What it decides: ports are required unless the Service is headless or an
ExternalName; with more than one port every port needs a unique DNS-1123 label
name; ports are 1-65535 with a known protocol and a valid target port, and no
(protocol, port) pair repeats; the type, session affinity, traffic policies and
IP families are known values; a given ``clusterIP``/``clusterIPs`` is an IP or
``None`` and the two agree; ``nodePort`` is refused for ClusterIP Services and
must sit in 30000-32767; an ExternalName Service has a DNS name and no cluster
IPs. On update, an assigned cluster IP never changes (``may not change once
set``).

Like Kubernetes' update strategy, an update first drops what a type change made
unnecessary (:func:`drop_type_dependent_fields`: a NodePort Service turned
ClusterIP loses its unchanged node ports) and copies the allocated clusterIP(s)
and nodePorts into an update that left them out (:func:`carry_allocated_values`:
``kubectl replace`` of a hand-written manifest), so only a real change fails.
Both mutate the new object.
"""

from __future__ import annotations

import ipaddress

from corral.machinery.labels import dns1123_subdomain_errors, validate_labels
from corral.machinery.status import FieldError
from corral.machinery.validation.common import Obj, is_int, items, join, mapping, text
from corral.machinery.validation.names import (
    dns1123_label_errors,
    port_name_errors,
    port_number_errors,
)

TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
AFFINITIES = ("ClientIP", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TRAFFIC_POLICIES = ("Cluster", "Local")
FAMILIES = ("IPv4", "IPv6")
FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
NODE_PORT_RANGE = (30000, 32767)
KUBELET_PORT = 10250
_IP_DETAIL = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def _headless(spec: Obj) -> bool:
    return spec.get("clusterIP") == "None"


def validate_service(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    kind = text(spec.get("type"))
    ports = items(spec.get("ports"))
    errors: list[FieldError] = []
    if not ports and not _headless(spec) and kind != "ExternalName":
        errors.append(FieldError.required("spec.ports"))
    errors.extend(_type_errors(spec, kind))
    names: set[str] = set()
    seen_ports: list[object] = []
    seen_node_ports: list[object] = []
    for i, raw in enumerate(ports):
        port, where = mapping(raw), f"spec.ports[{i}]"
        errors.extend(_port_errors(port, where, len(ports) > 1, names))
        pair = {"protocol": port.get("protocol"), "port": port.get("port")}
        if pair in seen_ports:
            errors.append(FieldError.duplicate(where, pair))
        seen_ports.append(pair)
        node_port = port.get("nodePort")
        if not node_port:
            continue
        if kind == "ClusterIP":
            detail = "may not be used when `type` is 'ClusterIP'"
            errors.append(FieldError.forbidden(join(where, "nodePort"), detail))
        elif is_int(node_port) and not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
            detail = (
                "provided port is not in the valid range. The range of valid ports is "
                f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}"
            )
            errors.append(FieldError.invalid(join(where, "nodePort"), node_port, detail))
        pair = {"protocol": port.get("protocol"), "nodePort": node_port}
        if pair in seen_node_ports:
            errors.append(FieldError.duplicate(join(where, "nodePort"), node_port))
        seen_node_ports.append(pair)
    if spec.get("selector") is not None:
        errors.extend(validate_labels(spec.get("selector"), "spec.selector"))
    errors.extend(_enum(spec.get("sessionAffinity"), "spec.sessionAffinity", AFFINITIES))
    errors.extend(_enum(spec.get("type"), "spec.type", TYPES))
    errors.extend(_traffic_policy_errors(spec, kind))
    if kind != "ExternalName":
        errors.extend(_cluster_ip_errors(spec))
    return errors


def _enum(value: object, path: str, allowed: tuple[str, ...]) -> list[FieldError]:
    if value in (None, ""):
        return [FieldError.required(path)]
    return [] if value in allowed else [FieldError.not_supported(path, value, allowed)]


def _type_errors(spec: Obj, kind: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if kind in ("LoadBalancer", "NodePort") and _headless(spec):
        detail = f"may not be set to 'None' for {kind} services"
        errors.append(FieldError.invalid("spec.clusterIPs[0]", "None", detail))
    if kind == "LoadBalancer":
        for i, port in enumerate(items(spec.get("ports"))):
            if mapping(port).get("port") == KUBELET_PORT:
                detail = (
                    f"may not expose port {KUBELET_PORT} externally since it is used by kubelet"
                )
                errors.append(FieldError.invalid(f"spec.ports[{i}]", KUBELET_PORT, detail))
    if kind == "ExternalName":
        detail = "may not be set for ExternalName services"
        if spec.get("clusterIP") or items(spec.get("clusterIPs")):
            errors.append(FieldError.forbidden("spec.clusterIPs", detail))
        if items(spec.get("ipFamilies")):
            errors.append(FieldError.forbidden("spec.ipFamilies", detail))
        if spec.get("ipFamilyPolicy") is not None:
            errors.append(FieldError.forbidden("spec.ipFamilyPolicy", detail))
        cname = text(spec.get("externalName")).removesuffix(".")
        if not cname:
            errors.append(FieldError.required("spec.externalName"))
        errors.extend(
            FieldError.invalid("spec.externalName", cname, m)
            for m in (dns1123_subdomain_errors(cname) if cname else [])
        )
    return errors


def _port_errors(port: Obj, path: str, require_name: bool, names: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = text(port.get("name"))
    if require_name and not name:
        errors.append(FieldError.required(join(path, "name")))
    elif name:
        errors.extend(
            FieldError.invalid(join(path, "name"), name, m) for m in dns1123_label_errors(name)
        )
        if name in names:
            errors.append(FieldError.duplicate(join(path, "name"), name))
        names.add(name)
    number = port.get("port")
    if is_int(number) or number is None:
        number = number or 0
        errors.extend(
            FieldError.invalid(join(path, "port"), number, m) for m in port_number_errors(number)
        )
    errors.extend(_enum(port.get("protocol"), join(path, "protocol"), PROTOCOLS))
    target = port.get("targetPort")
    where = join(path, "targetPort")
    if is_int(target):
        errors.extend(FieldError.invalid(where, target, m) for m in port_number_errors(target))
    elif isinstance(target, str):
        errors.extend(FieldError.invalid(where, target, m) for m in port_name_errors(target))
    return errors


def _traffic_policy_errors(spec: Obj, kind: str) -> list[FieldError]:
    errors: list[FieldError] = []
    external = spec.get("externalTrafficPolicy")
    accessible = kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(items(spec.get("externalIPs")))
    )
    path = "spec.externalTrafficPolicy"
    if not accessible and external:
        detail = "may only be set for externally-accessible services"
        errors.append(FieldError.invalid(path, external, detail))
    elif external and external not in TRAFFIC_POLICIES:
        errors.append(FieldError.not_supported(path, external, TRAFFIC_POLICIES))
    internal = spec.get("internalTrafficPolicy")
    path = "spec.internalTrafficPolicy"
    if internal and internal not in TRAFFIC_POLICIES:
        errors.append(FieldError.not_supported(path, internal, TRAFFIC_POLICIES))
    return errors


def _cluster_ip_errors(spec: Obj) -> list[FieldError]:
    errors: list[FieldError] = []
    cluster_ip, cluster_ips = (
        text(spec.get("clusterIP")),
        [text(ip) for ip in items(spec.get("clusterIPs"))],
    )
    path = "spec.clusterIPs"
    if cluster_ip and not cluster_ips:
        errors.append(FieldError.required(path))
    elif cluster_ip and cluster_ips[0] != cluster_ip:
        errors.append(FieldError.invalid(path, cluster_ips, "first value must match `clusterIP`"))
    elif not cluster_ip and cluster_ips:
        detail = "must be empty when `clusterIP` is not specified"
        errors.append(FieldError.invalid(path, cluster_ips, detail))
    seen: set[str] = set()
    for i, family in enumerate(map(text, items(spec.get("ipFamilies")))):
        if family not in FAMILIES:
            errors.append(FieldError.not_supported(f"spec.ipFamilies[{i}]", family, FAMILIES))
        if family in seen:
            errors.append(FieldError.duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in FAMILY_POLICIES:
        errors.append(FieldError.not_supported("spec.ipFamilyPolicy", policy, FAMILY_POLICIES))
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                detail = "'None' must be the first and only value"
                errors.append(FieldError.invalid(path, cluster_ips, detail))
            continue
        if not _is_ip(ip):
            errors.append(FieldError.invalid(f"{path}[{i}]", ip, _IP_DETAIL))
    if len(cluster_ips) > 2:
        errors.append(FieldError.invalid(path, cluster_ips, "may only hold up to 2 values"))
    return errors


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def carry_allocated_values(new: Obj, old: Obj) -> None:
    """The update strategy's ``PatchAllocatedValues``: keep assigned IPs and node ports."""
    new_spec, old_spec = mapping(new.get("spec")), mapping(old.get("spec"))
    if "spec" not in new or "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return
    if not new_spec.get("clusterIP") and old_spec.get("clusterIP"):
        new_spec["clusterIP"] = old_spec["clusterIP"]
        if not new_spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            new_spec["clusterIPs"] = list(old_spec["clusterIPs"])
    if new_spec.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = [
            ((mapping(p).get("protocol"), mapping(p).get("port")), mapping(p).get("nodePort"))
            for p in items(old_spec.get("ports"))
        ]
        for port in items(new_spec.get("ports")):
            if isinstance(port, dict) and not port.get("nodePort"):
                wanted = (port.get("protocol"), port.get("port"))
                allocated = next((n for k, n in old_ports if k == wanted and n), None)
                if allocated:
                    port["nodePort"] = allocated


def drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    """The update strategy's ``dropTypeDependentFields``: a type change drops the values the
    old type needed (node ports, cluster IPs, LB and traffic fields) if left unchanged."""
    new_spec, old_spec = mapping(new.get("spec")), mapping(old.get("spec"))
    if "spec" not in new:
        return
    new_type, old_type = new_spec.get("type"), old_spec.get("type")
    if new_type == old_type:
        return
    if new_type == "ExternalName" and old_type != "ExternalName":
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if new_spec.get(field) == old_spec.get(field):
                new_spec.pop(field, None)
        new_spec.pop("internalTrafficPolicy", None)
    external = ("NodePort", "LoadBalancer")
    if old_type in external and new_type not in external:
        old_ports = [mapping(p).get("nodePort") for p in items(old_spec.get("ports"))]
        for port in items(new_spec.get("ports")):
            if isinstance(port, dict) and port.get("nodePort") in old_ports:
                port.pop("nodePort", None)
        policy = new_spec.get("externalTrafficPolicy")
        if policy == old_spec.get("externalTrafficPolicy") and not items(
            new_spec.get("externalIPs")
        ):
            new_spec.pop("externalTrafficPolicy", None)
    if old_type == "LoadBalancer" and new_type != "LoadBalancer":
        for field in ("allocateLoadBalancerNodePorts", "loadBalancerClass", "healthCheckNodePort"):
            if new_spec.get(field) == old_spec.get(field):
                new_spec.pop(field, None)


def validate_service_update(new: Obj, old: Obj) -> list[FieldError]:
    """Cluster IPs may be added or released (dual-stack) but never changed."""
    drop_type_dependent_fields(new, old)
    carry_allocated_values(new, old)
    new_spec, old_spec = mapping(new.get("spec")), mapping(old.get("spec"))
    if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return []
    if _headless(new_spec) and _headless(old_spec):
        return []
    new_ips = [text(ip) for ip in items(new_spec.get("clusterIPs"))]
    old_ips = [text(ip) for ip in items(old_spec.get("clusterIPs"))]
    errors: list[FieldError] = []
    if old_ips and not new_ips:
        detail = "primary clusterIP can not be unset"
        return [FieldError.invalid("spec.clusterIPs[0]", new_ips, detail)]
    for i, ip in enumerate(old_ips[: len(new_ips)]):
        if ip != new_ips[i]:
            errors.append(
                FieldError.invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set")
            )
    return errors

"""Semantic rules for Ingresses, NetworkPolicies (networking.k8s.io/v1) and PDBs (policy/v1).

What it decides (Kubernetes 1.32): an Ingress has rules or a default backend;
rule hosts are DNS names (``*.`` wildcards allowed), not IPs; every HTTP path
has a ``pathType`` (``pathType must be specified``) of Exact, Prefix or
ImplementationSpecific, an absolute path without ``//``, ``/./``, ``/../`` or
encoded slashes, and exactly one backend (a Service by name with a port name
or number, or a resource). A NetworkPolicy's selectors are valid, its ports
are valid numbers or names with known protocols, each peer names exactly one
kind of peer, CIDRs parse, and policyTypes are Ingress/Egress. A
PodDisruptionBudget sets at most one of minAvailable and maxUnavailable, each
a count or a percentage up to 100%, and a valid selector.
"""

from __future__ import annotations

import ipaddress

from corral.machinery.labels import dns1123_subdomain_errors
from corral.machinery.status import FieldError
from corral.machinery.validation.common import Obj, is_int, items, join, mapping, text
from corral.machinery.validation.names import dns1035_name, port_name_errors, port_number_errors
from corral.machinery.validation.workloads import (
    int_or_percent_errors,
    label_selector,
    not_more_than_100_percent,
)

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
_BAD_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_BAD_SUFFIXES = ("/..", "/.")
PROTOCOLS = ("SCTP", "TCP", "UDP")


def _selector_errors(selector: object, path: str) -> list[FieldError]:
    return [] if selector is None else label_selector(selector, path)[1]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def validate_ingress(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    errors: list[FieldError] = []
    rules = items(spec.get("rules"))
    if not rules and spec.get("defaultBackend") is None:
        detail = "either `defaultBackend` or `rules` must be specified"
        errors.append(FieldError.invalid("spec", rules, detail))
    if spec.get("defaultBackend") is not None:
        errors.extend(_backend_errors(mapping(spec["defaultBackend"]), "spec.defaultBackend"))
    for i, raw in enumerate(rules):
        rule, path = mapping(raw), f"spec.rules[{i}]"
        host = text(rule.get("host"))
        if host and _is_ip(host):
            detail = "must be a DNS name, not an IP address"
            errors.append(FieldError.invalid(join(path, "host"), host, detail))
        elif host:
            checked = host[2:] if host.startswith("*.") else host
            errors.extend(
                FieldError.invalid(join(path, "host"), host, m)
                for m in dns1123_subdomain_errors(checked)
            )
        http = rule.get("http")
        if http is None:
            continue
        paths = items(mapping(http).get("paths"))
        if not paths:
            errors.append(FieldError.required(join(path, "http.paths")))
        for j, entry in enumerate(paths):
            errors.extend(_path_errors(mapping(entry), f"{path}.http.paths[{j}]"))
    return errors


def _path_errors(entry: Obj, path: str) -> list[FieldError]:
    path_type = entry.get("pathType")
    if path_type is None:
        return [FieldError.required(join(path, "pathType"), "pathType must be specified")]
    errors: list[FieldError] = []
    value, where = text(entry.get("path")), join(path, "path")
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errors.append(FieldError.invalid(where, value, "must be an absolute path"))
        errors.extend(
            FieldError.invalid(where, value, f"must not contain '{s}'")
            for s in _BAD_SEQUENCES
            if s in value
        )
        errors.extend(
            FieldError.invalid(where, value, f"cannot end with '{s}'")
            for s in _BAD_SUFFIXES
            if value.endswith(s)
        )
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errors.append(FieldError.invalid(where, value, "must be an absolute path"))
    else:
        errors.append(FieldError.not_supported(join(path, "pathType"), path_type, PATH_TYPES))
    errors.extend(_backend_errors(mapping(entry.get("backend")), join(path, "backend")))
    return errors


def _backend_errors(backend: Obj, path: str) -> list[FieldError]:
    resource, service = backend.get("resource"), backend.get("service")
    if resource is not None and service is not None:
        return [FieldError.invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        ref = mapping(resource)
        return [
            FieldError.required(join(path, f"resource.{f}"))
            for f in ("kind", "name")
            if not text(ref.get(f))
        ]
    if service is None:
        return [FieldError.invalid(path, "", "resource or service backend is required")]
    svc = mapping(service)
    errors: list[FieldError] = []
    name = text(svc.get("name"))
    if not name:
        errors.append(FieldError.required(join(path, "service.name")))
    else:
        errors.extend(
            FieldError.invalid(join(path, "service.name"), name, m)
            for m in dns1035_name(name, False)
        )
    port = mapping(svc.get("port"))
    port_name, number = text(port.get("name")), port.get("number")
    if port_name and number:
        errors.append(FieldError.invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        where = join(path, "service.port.name")
        errors.extend(FieldError.invalid(where, port_name, m) for m in port_name_errors(port_name))
    elif is_int(number) and number:
        where = join(path, "service.port.number")
        errors.extend(FieldError.invalid(where, number, m) for m in port_number_errors(number))
    else:
        errors.append(FieldError.required(path, "port name or number is required"))
    return errors


def validate_network_policy(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    errors = _selector_errors(spec.get("podSelector"), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, raw in enumerate(items(spec.get(direction))):
            rule, path = mapping(raw), f"spec.{direction}[{i}]"
            for j, port in enumerate(items(rule.get("ports"))):
                errors.extend(_policy_port_errors(mapping(port), f"{path}.ports[{j}]"))
            for j, peer in enumerate(items(rule.get(peers))):
                errors.extend(_peer_errors(mapping(peer), f"{path}.{peers}[{j}]"))
    types = items(spec.get("policyTypes"))
    for i, kind in enumerate(types):
        if kind not in ("Ingress", "Egress"):
            errors.append(
                FieldError.not_supported(f"spec.policyTypes[{i}]", kind, ["Ingress", "Egress"])
            )
    if len(types) > 2:
        errors.append(
            FieldError.invalid(
                "spec.policyTypes", types, "may not specify more than two policyTypes"
            )
        )
    return errors


def _policy_port_errors(port: Obj, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errors.append(FieldError.not_supported(join(path, "protocol"), protocol, PROTOCOLS))
    value = port.get("port")
    if is_int(value):
        errors.extend(
            FieldError.invalid(join(path, "port"), value, m) for m in port_number_errors(value)
        )
    elif isinstance(value, str):
        errors.extend(
            FieldError.invalid(join(path, "port"), value, m) for m in port_name_errors(value)
        )
    return errors


def _peer_errors(peer: Obj, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    count = sum(peer.get(k) is not None for k in ("podSelector", "namespaceSelector"))
    block = peer.get("ipBlock")
    if block is not None:
        if count:
            return [FieldError.forbidden(path, "may not specify both ipBlock and another peer")]
        cidr = text(mapping(block).get("cidr"))
        if not cidr:
            errors.append(FieldError.required(join(path, "ipBlock.cidr")))
        elif not _is_cidr(cidr):
            detail = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
            errors.append(FieldError.invalid(join(path, "ipBlock.cidr"), cidr, detail))
        return errors
    if not count:
        return [FieldError.required(path, "must specify a peer")]
    errors.extend(_selector_errors(peer.get("podSelector"), join(path, "podSelector")))
    errors.extend(_selector_errors(peer.get("namespaceSelector"), join(path, "namespaceSelector")))
    return errors


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def validate_pdb(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    errors: list[FieldError] = []
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    if low is not None and high is not None:
        errors.append(
            FieldError.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set")
        )
    for field, value in (("minAvailable", low), ("maxUnavailable", high)):
        errors.extend(int_or_percent_errors(value, f"spec.{field}"))
        errors.extend(not_more_than_100_percent(value, f"spec.{field}"))
    errors.extend(_selector_errors(spec.get("selector"), "spec.selector"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("IfHealthyBudget", "AlwaysAllow"):
        where = "spec.unhealthyPodEvictionPolicy"
        errors.append(FieldError.not_supported(where, policy, ["AlwaysAllow", "IfHealthyBudget"]))
    return errors

"""Tables for networking.k8s.io/v1: network policies and ingresses.

A network policy shows its pod selector ("<none>" when it selects every pod).
An ingress shows its class ("<none>" when unset), up to three rule hosts ("*"
when no rule names a host, "+ N more..." past three), the load balancer's
addresses (IP, else hostname), and "80" or "80, 443" depending on whether it has
TLS — the fixed strings Kubernetes prints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import dig, format_label_selector, items, name, text
from corral.machinery.printers.columns import AGE, NAME, ColumnDefinition, Obj, Printer
from corral.machinery.printers.core import load_balancer_ips
from corral.machinery.printers.duration import since

NETWORK_POLICY_COLUMNS = (
    NAME,
    ColumnDefinition("Pod-Selector", description=doc.NETPOL_POD_SELECTOR),
    AGE,
)
INGRESS_COLUMNS = (
    NAME,
    ColumnDefinition(
        "Class",
        description=(
            "The name of the IngressClass resource that should be used for additional configuration"
        ),
    ),
    ColumnDefinition(
        "Hosts",
        description="Hosts that incoming requests are matched against before the ingress rule",
    ),
    ColumnDefinition(
        "Address", description="Address is a list containing ingress points for the load-balancer"
    ),
    ColumnDefinition("Ports", description="Ports of TLS configurations that open"),
    AGE,
)


def network_policy_cells(policy: Obj, now: datetime) -> list[Any]:
    return [
        name(policy),
        format_label_selector(dig(policy, "spec", "podSelector") or {}),
        since(dig(policy, "metadata", "creationTimestamp"), now),
    ]


def ingress_hosts(rules: list[Any]) -> str:
    """``formatHosts``: the first three hosts named by rules, then "+ N more..."."""
    limit = 3
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == limit:
            more = True
        if not more and text(rule, "host"):
            hosts.append(text(rule, "host"))
    if not hosts:
        return "*"
    joined = ",".join(hosts)
    return f"{joined} + {len(rules) - limit} more..." if more else joined


def ingress_cells(ingress: Obj, now: datetime) -> list[Any]:
    class_name = dig(ingress, "spec", "ingressClassName")
    return [
        name(ingress),
        class_name if isinstance(class_name, str) else "<none>",
        ingress_hosts(items(ingress, "spec", "rules")),
        load_balancer_ips(dig(ingress, "status", "loadBalancer")),
        "80, 443" if items(ingress, "spec", "tls") else "80",
        since(dig(ingress, "metadata", "creationTimestamp"), now),
    ]


PRINTERS = {
    ("networking.k8s.io", "networkpolicies"): Printer(NETWORK_POLICY_COLUMNS, network_policy_cells),
    ("networking.k8s.io", "ingresses"): Printer(INGRESS_COLUMNS, ingress_cells),
}

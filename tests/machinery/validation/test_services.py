"""Service rules: ports, types, cluster IPs and their immutability."""

from __future__ import annotations

import copy
from typing import Any

from corral.machinery.validation import strategy_for


def create(obj: dict[str, Any]) -> list[str]:
    strategy = strategy_for("", "services")
    strategy.default(obj)
    return [str(e) for e in strategy.validate_create(obj)]


def update(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    strategy = strategy_for("", "services")
    strategy.default(new)
    return [str(e) for e in strategy.validate_update(new, old)]


def svc(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def test_a_plain_service_passes() -> None:
    assert create(svc(selector={"app": "web"}, ports=[{"port": 80, "targetPort": 8080}])) == []
    assert create(svc(ports=[{"port": 80, "targetPort": "http"}])) == []


def test_service_names_are_dns1035_labels() -> None:
    [message] = create(svc("1web", ports=[{"port": 80}]))
    assert message.startswith('metadata.name: Invalid value: "1web": a DNS-1035 label must')


def test_ports_are_required_unless_headless_or_external_name() -> None:
    assert create(svc()) == ["spec.ports: Required value"]
    assert create(svc(clusterIP="None", selector={"app": "db"})) == []
    assert create(svc(type="ExternalName", externalName="db.example.com")) == []


def test_port_names_are_required_and_unique_with_several_ports() -> None:
    ports = [{"port": 80}, {"port": 443, "name": "https"}, {"port": 8443, "name": "https"}]
    assert create(svc(ports=ports)) == [
        "spec.ports[0].name: Required value",
        'spec.ports[2].name: Duplicate value: "https"',
    ]


def test_port_numbers_protocols_and_target_ports() -> None:
    ports = [
        {"name": "a", "port": 0, "protocol": "ICMP", "targetPort": 70000},
        {"name": "b", "port": 80, "targetPort": "Http"},
        {"name": "c", "port": 80},
    ]
    assert create(svc(ports=ports)) == [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
        "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.ports[1].targetPort: Invalid value: "Http": must contain only alpha-numeric '
        "characters (a-z, 0-9), and hyphens (-)",
        'spec.ports[2]: Duplicate value: {"protocol":"TCP","port":80}',
    ]


def test_type_and_affinity_enums() -> None:
    errors = create(svc(type="Internal", sessionAffinity="Sticky", ports=[{"port": 80}]))
    assert errors == [
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
        'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", '
        '"ExternalName", "LoadBalancer", "NodePort"',
    ]


def test_cluster_ip_must_be_an_ip_or_none() -> None:
    assert create(svc(clusterIP="10.96.0.10", ports=[{"port": 53}])) == []
    assert create(svc(clusterIP="fd00::a", ports=[{"port": 53}])) == []
    assert create(svc(clusterIP="banana", ports=[{"port": 53}])) == [
        'spec.clusterIPs[0]: Invalid value: "banana": must be a valid IP address, (e.g. '
        "10.9.8.7 or 2001:db8::ffff)"
    ]
    mismatch = svc(clusterIP="10.0.0.1", clusterIPs=["10.0.0.2"], ports=[{"port": 53}])
    assert create(mismatch) == [
        'spec.clusterIPs: Invalid value: ["10.0.0.2"]: first value must match `clusterIP`'
    ]


def test_node_ports() -> None:
    assert create(svc(ports=[{"port": 80, "nodePort": 30080}])) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    ]
    assert create(svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])) == []
    assert create(svc(type="NodePort", ports=[{"port": 80, "nodePort": 80}])) == [
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767"
    ]
    assert create(svc(type="NodePort", clusterIP="None", ports=[{"port": 80}])) == [
        "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
        "services"
    ]


def test_external_name_services() -> None:
    assert create(svc(type="ExternalName")) == ["spec.externalName: Required value"]
    assert create(svc(type="ExternalName", externalName="x.io", clusterIP="10.0.0.1")) == [
        "spec.clusterIPs: Forbidden: may not be set for ExternalName services"
    ]


def test_external_traffic_policy_only_for_external_services() -> None:
    assert create(svc(externalTrafficPolicy="Local", ports=[{"port": 80}])) == [
        'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for '
        "externally-accessible services"
    ]
    assert (
        create(svc(type="LoadBalancer", externalTrafficPolicy="Local", ports=[{"port": 80}])) == []
    )


def allocated() -> dict[str, Any]:
    old = svc(selector={"app": "web"}, ports=[{"port": 80}], clusterIP="10.96.0.5")
    strategy_for("", "services").default(old)
    return old


def test_cluster_ip_may_not_change_once_set() -> None:
    old = allocated()
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.6"
    new["spec"]["clusterIPs"] = ["10.96.0.6"]
    assert update(new, old) == [
        'spec.clusterIPs[0]: Invalid value: ["10.96.0.6"]: may not change once set'
    ]


def test_an_update_without_the_cluster_ip_keeps_it() -> None:
    old = allocated()
    new = svc(selector={"app": "web", "tier": "front"}, ports=[{"port": 80}])
    assert update(new, old) == []
    assert new["spec"]["clusterIP"] == "10.96.0.5"
    assert new["spec"]["clusterIPs"] == ["10.96.0.5"]


def test_an_update_changing_only_labels_passes() -> None:
    old = allocated()
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"team": "a"}
    assert update(new, old) == []


def test_turning_a_node_port_service_into_cluster_ip_drops_its_node_ports() -> None:
    old = svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}], clusterIP="10.96.0.7")
    strategy_for("", "services").default(old)
    new = copy.deepcopy(old)
    new["spec"]["type"] = "ClusterIP"
    assert update(new, old) == []
    assert new["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert "externalTrafficPolicy" not in new["spec"]


def test_a_node_port_service_keeps_its_allocated_node_ports_on_replace() -> None:
    old = svc(type="NodePort", ports=[{"port": 80, "nodePort": 30080}], clusterIP="10.96.0.7")
    strategy_for("", "services").default(old)
    new = svc(type="NodePort", ports=[{"port": 80}])
    assert update(new, old) == []
    assert new["spec"]["ports"][0]["nodePort"] == 30080

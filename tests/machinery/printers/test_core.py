"""Rows of the core/v1 kinds other than pods, against kubectl's output."""

from __future__ import annotations

from typing import Any

from .helpers import ago, cells, headers, meta


def service(kind: str, ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": meta("web"),
        "spec": {
            "type": kind,
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "ports": ports,
            **spec,
        },
    }


def test_service_columns() -> None:
    assert headers("", "services") == [
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
    ]
    assert headers("", "services", wide=True)[-1] == "SELECTOR"


def test_cluster_ip_service() -> None:
    svc = service(
        "ClusterIP",
        [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"}],
        selector={"app": "web", "tier": "front"},
    )
    assert cells("", "services", svc, wide=True) == [
        "web",
        "ClusterIP",
        "10.96.0.10",
        "<none>",
        "80/TCP,443:30443/TCP",
        "5m",
        "app=web,tier=front",
    ]


def test_node_port_udp_and_headless() -> None:
    svc = service(
        "NodePort", [{"port": 53, "nodePort": 30053, "protocol": "UDP"}], externalIPs=["1.2.3.4"]
    )
    assert cells("", "services", svc)[1:5] == ["NodePort", "10.96.0.10", "1.2.3.4", "53:30053/UDP"]
    headless = service("ClusterIP", [], clusterIP="None", clusterIPs=["None"])
    assert cells("", "services", headless, wide=True)[2:] == [
        "None",
        "<none>",
        "<none>",
        "5m",
        "<none>",
    ]


def test_load_balancer_and_external_name() -> None:
    pending = service("LoadBalancer", [{"port": 80, "nodePort": 31000, "protocol": "TCP"}])
    assert cells("", "services", pending)[3] == "<pending>"
    ready = service("LoadBalancer", [{"port": 80, "nodePort": 31000, "protocol": "TCP"}])
    ready["status"] = {
        "loadBalancer": {"ingress": [{"ip": "203.0.113.7"}, {"hostname": "lb.example.com"}]}
    }
    assert cells("", "services", ready)[3] == "203.0.113.7,lb.example.com"
    ready["spec"]["externalIPs"] = ["198.51.100.1"]
    assert cells("", "services", ready)[3] == "203.0.113.7,lb.example.com,198.51.100.1"
    external = {
        "metadata": meta("db"),
        "spec": {"type": "ExternalName", "externalName": "db.example.com"},
    }
    assert cells("", "services", external) == [
        "db",
        "ExternalName",
        "<none>",
        "db.example.com",
        "<none>",
        "5m",
    ]


def node(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": meta(
            "cp-1",
            namespace=None,
            labels={"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "cp-1"},
        ),
        "spec": {},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            "addresses": [
                {"type": "InternalIP", "address": "172.18.0.2"},
                {"type": "Hostname", "address": "cp-1"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-18-amd64",
                "containerRuntimeVersion": "containerd://1.7.24",
            },
        },
    }
    obj.update(overrides)
    return obj


def test_nodes() -> None:
    assert headers("", "nodes") == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert cells("", "nodes", node(), wide=True) == [
        "cp-1",
        "Ready",
        "control-plane",
        "5m",
        "v1.32.0",
        "172.18.0.2",
        "<none>",
        "Debian GNU/Linux 12 (bookworm)",
        "6.1.0-18-amd64",
        "containerd://1.7.24",
    ]
    cordoned = node(spec={"unschedulable": True})
    cordoned["status"]["conditions"][1]["status"] = "Unknown"
    cordoned["metadata"]["labels"] = {
        "kubernetes.io/role": "worker",
        "node-role.kubernetes.io/infra": "",
    }
    assert cells("", "nodes", cordoned)[1:3] == ["NotReady,SchedulingDisabled", "infra,worker"]
    bare = {"metadata": meta("n2", namespace=None), "status": {}}
    assert cells("", "nodes", bare, wide=True)[1:] == [
        "Unknown",
        "<none>",
        "5m",
        "",
        "<none>",
        "<none>",
        "<unknown>",
        "<unknown>",
        "<unknown>",
    ]


def test_namespaces_configmaps_secrets_serviceaccounts() -> None:
    ns = {"metadata": meta("team-a", namespace=None), "status": {"phase": "Active"}}
    assert headers("", "namespaces") == ["NAME", "STATUS", "AGE"]
    assert cells("", "namespaces", ns) == ["team-a", "Active", "5m"]
    cm = {"metadata": meta("settings"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert headers("", "configmaps") == ["NAME", "DATA", "AGE"]
    assert cells("", "configmaps", cm) == ["settings", 3, "5m"]
    secret = {
        "metadata": meta("tls"),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""},
    }
    assert headers("", "secrets") == ["NAME", "TYPE", "DATA", "AGE"]
    assert cells("", "secrets", secret) == ["tls", "kubernetes.io/tls", 2, "5m"]
    empty = {"metadata": meta("empty"), "type": "Opaque"}
    assert cells("", "secrets", empty) == ["empty", "Opaque", 0, "5m"]
    sa = {"metadata": meta("default")}
    assert headers("", "serviceaccounts") == ["NAME", "SECRETS", "AGE"]
    assert cells("", "serviceaccounts", sa) == ["default", 0, "5m"]


def test_endpoints() -> None:
    assert headers("", "endpoints") == ["NAME", "ENDPOINTS", "AGE"]
    eps = {
        "metadata": meta("web"),
        "subsets": [
            {
                "addresses": [{"ip": "10.244.0.5"}, {"ip": "10.244.0.6"}],
                "ports": [{"port": 8080, "protocol": "TCP"}, {"name": "m", "port": 9090}],
            }
        ],
    }
    assert (
        cells("", "endpoints", eps)[1]
        == "10.244.0.5:8080,10.244.0.6:8080,10.244.0.5:9090 + 1 more..."
    )
    assert cells("", "endpoints", {"metadata": meta("none")})[1] == "<none>"
    v6 = {
        "metadata": meta("v6"),
        "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}],
    }
    assert cells("", "endpoints", v6)[1] == "[fd00::1]:80"
    headless = {"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}
    assert cells("", "endpoints", headless)[1] == "10.0.0.1"


def test_persistent_volumes() -> None:
    assert headers("", "persistentvolumes") == [
        "NAME",
        "CAPACITY",
        "ACCESS MODES",
        "RECLAIM POLICY",
        "STATUS",
        "CLAIM",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "REASON",
        "AGE",
    ]
    pv = {
        "metadata": meta("pv-1", namespace=None),
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "default", "name": "data"},
            "storageClassName": "standard",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Bound"},
    }
    assert cells("", "persistentvolumes", pv, wide=True) == [
        "pv-1",
        "10Gi",
        "RWO,RWX",
        "Retain",
        "Bound",
        "default/data",
        "standard",
        "<unset>",
        "",
        "5m",
        "Filesystem",
    ]
    pv["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert cells("", "persistentvolumes", pv)[4] == "Terminating"


def test_persistent_volume_claims() -> None:
    assert headers("", "persistentvolumeclaims") == [
        "NAME",
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS",
        "AGE",
    ]
    pvc = {
        "metadata": meta("data"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "standard",
            "volumeName": "pvc-3f1c",
        },
        "status": {
            "phase": "Bound",
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "1Gi"},
        },
    }
    assert cells("", "persistentvolumeclaims", pvc, wide=True) == [
        "data",
        "Bound",
        "pvc-3f1c",
        "1Gi",
        "RWO",
        "standard",
        "<unset>",
        "5m",
        "<unset>",
    ]
    pending = {
        "metadata": meta("new"),
        "spec": {"storageClassName": "fast"},
        "status": {"phase": "Pending"},
    }
    assert cells("", "persistentvolumeclaims", pending) == [
        "new",
        "Pending",
        "",
        "",
        "",
        "fast",
        "<unset>",
        "5m",
    ]


def test_resource_quotas() -> None:
    assert headers("", "resourcequotas") == ["NAME", "REQUEST", "LIMIT", "AGE"]
    quota = {
        "metadata": meta("compute"),
        "spec": {"hard": {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi"}},
        "status": {
            "hard": {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi"},
            "used": {"pods": "3", "requests.cpu": "500m"},
        },
    }
    assert cells("", "resourcequotas", quota) == [
        "compute",
        "pods: 3/10, requests.cpu: 500m/4",
        "limits.memory: 0/8Gi",
        "5m",
    ]


def test_limit_ranges_use_the_default_table() -> None:
    assert headers("", "limitranges") == ["NAME", "CREATED AT"]
    lr = {"metadata": {"name": "limits", "creationTimestamp": "2024-04-30T08:15:00Z"}}
    assert cells("", "limitranges", lr) == ["limits", "2024-04-30T08:15:00Z"]

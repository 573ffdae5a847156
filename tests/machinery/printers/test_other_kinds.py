"""RBAC, networking, coordination, discovery, policy and default-table rows."""

from __future__ import annotations

from .helpers import cells, headers, meta

RBAC = "rbac.authorization.k8s.io"


def test_roles_and_cluster_roles_show_created_at() -> None:
    for resource in ("roles", "clusterroles"):
        assert headers(RBAC, resource) == ["NAME", "CREATED AT"]
    role = {"metadata": {"name": "admin", "creationTimestamp": "2024-04-01T09:30:00Z"}}
    assert cells(RBAC, "clusterroles", role) == ["admin", "2024-04-01T09:30:00Z"]


def test_role_bindings() -> None:
    assert headers(RBAC, "rolebindings", wide=True) == [
        "NAME",
        "ROLE",
        "AGE",
        "USERS",
        "GROUPS",
        "SERVICEACCOUNTS",
    ]
    binding = {
        "metadata": meta("dev-edit"),
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
        ],
    }
    assert cells(RBAC, "rolebindings", binding, wide=True) == [
        "dev-edit",
        "ClusterRole/edit",
        "5m",
        "alice, bob",
        "devs",
        "tools:ci",
    ]
    cluster = {
        "metadata": meta("root", namespace=None),
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
    }
    assert cells(RBAC, "clusterrolebindings", cluster, wide=True) == [
        "root",
        "ClusterRole/cluster-admin",
        "5m",
        "",
        "",
        "",
    ]


def test_network_policies() -> None:
    assert headers("networking.k8s.io", "networkpolicies") == ["NAME", "POD-SELECTOR", "AGE"]
    deny = {"metadata": meta("deny-all"), "spec": {"podSelector": {}}}
    assert cells("networking.k8s.io", "networkpolicies", deny) == ["deny-all", "<none>", "5m"]
    web = {"metadata": meta("web"), "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}
    assert cells("networking.k8s.io", "networkpolicies", web)[1] == "app=web"


def test_ingresses() -> None:
    assert headers("networking.k8s.io", "ingresses") == [
        "NAME",
        "CLASS",
        "HOSTS",
        "ADDRESS",
        "PORTS",
        "AGE",
    ]
    ingress = {
        "metadata": meta("web"),
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}],
            "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}},
    }
    assert cells("networking.k8s.io", "ingresses", ingress) == [
        "web",
        "nginx",
        "a.example.com,b.example.com",
        "192.0.2.10",
        "80, 443",
        "5m",
    ]
    catch_all = {"metadata": meta("all"), "spec": {"defaultBackend": {}, "rules": [{"http": {}}]}}
    assert cells("networking.k8s.io", "ingresses", catch_all)[1:5] == ["<none>", "*", "", "80"]
    many = {
        "metadata": meta("many"),
        "spec": {"rules": [{"host": f"h{i}.example.com"} for i in range(5)]},
    }
    assert cells("networking.k8s.io", "ingresses", many)[2] == (
        "h0.example.com,h1.example.com,h2.example.com + 2 more..."
    )


def test_leases() -> None:
    assert headers("coordination.k8s.io", "leases") == ["NAME", "HOLDER", "AGE"]
    lease = {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "cp-1_4f9a"}}
    assert cells("coordination.k8s.io", "leases", lease) == ["kube-scheduler", "cp-1_4f9a", "5m"]
    assert cells("coordination.k8s.io", "leases", {"metadata": meta("free"), "spec": {}})[1] == ""


def test_endpoint_slices() -> None:
    assert headers("discovery.k8s.io", "endpointslices") == [
        "NAME",
        "ADDRESSTYPE",
        "PORTS",
        "ENDPOINTS",
        "AGE",
    ]
    eps = {
        "metadata": meta("web-abcde"),
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "named"}, {}],
        "endpoints": [
            {"addresses": ["10.244.0.5"]},
            {"addresses": ["10.244.0.6", "10.244.0.7"]},
            {"addresses": ["10.244.0.8"]},
        ],
    }
    assert cells("discovery.k8s.io", "endpointslices", eps) == [
        "web-abcde",
        "IPv4",
        "8080,named,*",
        "10.244.0.5,10.244.0.6,10.244.0.7 + 1 more...",
        "5m",
    ]
    empty = {"metadata": meta("e"), "addressType": "IPv6", "endpoints": None}
    assert cells("discovery.k8s.io", "endpointslices", empty)[2:4] == ["<unset>", "<unset>"]


def test_pod_disruption_budgets() -> None:
    assert headers("policy", "poddisruptionbudgets") == [
        "NAME",
        "MIN AVAILABLE",
        "MAX UNAVAILABLE",
        "ALLOWED DISRUPTIONS",
        "AGE",
    ]
    pdb = {
        "metadata": meta("web"),
        "spec": {"minAvailable": 2},
        "status": {"disruptionsAllowed": 1},
    }
    assert cells("policy", "poddisruptionbudgets", pdb) == ["web", "2", "N/A", 1, "5m"]
    pct = {"metadata": meta("db"), "spec": {"maxUnavailable": "25%"}, "status": {}}
    assert cells("policy", "poddisruptionbudgets", pct)[1:4] == ["N/A", "25%", 0]


def test_controller_revisions() -> None:
    assert headers("apps", "controllerrevisions") == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    revision = {
        "metadata": meta(
            "web-5d8f7",
            ownerReferences=[
                {"apiVersion": "v1", "kind": "Other", "name": "x"},
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True},
            ],
        ),
        "revision": 2,
    }
    assert cells("apps", "controllerrevisions", revision) == [
        "web-5d8f7",
        "statefulset.apps/web",
        2,
        "5m",
    ]
    orphan = {"metadata": meta("x-1"), "revision": 1}
    assert cells("apps", "controllerrevisions", orphan)[1] == "<none>"


def test_crds_and_unknown_resources_use_the_default_table() -> None:
    crd = {"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-04-30T23:00:00Z"}}
    assert headers("apiextensions.k8s.io", "customresourcedefinitions") == ["NAME", "CREATED AT"]
    assert cells("apiextensions.k8s.io", "customresourcedefinitions", crd) == [
        "widgets.example.com",
        "2024-04-30T23:00:00Z",
    ]
    assert headers("management.corral.io", "clusters") == ["NAME", "CREATED AT"]

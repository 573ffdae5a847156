"""Service cluster IPs and node ports on a real server, through the real kubectl.

One server per module (no controllers needed: allocation is admission).
Twenty services created at once get twenty different addresses; a taken
address or node port is refused naming the field; node ports come from
30000-32767; deleting a service frees what it held; ``default/kubernetes``
holds the first address; and everything allocated survives a restart on
the same data directory.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubectlproc import get_json, kubectl_argv, kubectl_env, kubectl_ok, run_kubectl
from serverproc import CorralServer, module_server, start_server, stop_server

Obj = dict[str, Any]
CIDR = ipaddress.ip_network("10.43.0.0/16")


server = module_server("svc")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def service_yaml(name: str, **spec: Any) -> str:
    body: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec},
    }
    return json.dumps(body)


def new_namespace(server: CorralServer, home: Path, name: str) -> str:
    kubectl_ok(server, home, "create", "namespace", name)
    return name


def test_kubernetes_service_holds_the_first_address(server: CorralServer, home: Path) -> None:
    svc = get_json(server, home, "-n", "default", "service", "kubernetes")
    assert svc["spec"]["clusterIP"] == "10.43.0.1"
    assert svc["spec"]["clusterIPs"] == ["10.43.0.1"]
    assert svc["spec"]["ports"][0]["port"] == 443
    assert "selector" not in svc["spec"]
    taken = run_kubectl(
        server,
        home,
        "apply",
        "-n",
        "default",
        "-f",
        "-",
        stdin=service_yaml("grab", clusterIP="10.43.0.1"),
    )
    assert taken.returncode != 0
    assert "provided IP is already allocated" in taken.stderr


def test_twenty_concurrent_creates_get_unique_addresses(server: CorralServer, home: Path) -> None:
    ns = new_namespace(server, home, "burst")
    procs = [
        subprocess.Popen(
            kubectl_argv(
                server, "create", "service", "clusterip", f"s{i}", "--tcp=80:8080", "-n", ns
            ),
            env=kubectl_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    items = get_json(server, home, "-n", ns, "services")["items"]
    ips = [s["spec"]["clusterIP"] for s in items]
    assert len(ips) == 20
    assert len(set(ips)) == 20
    for ip in ips:
        address = ipaddress.ip_address(ip)
        assert address in CIDR
        assert ip != "10.43.0.1"
    assert all(s["spec"]["clusterIPs"] == [s["spec"]["clusterIP"]] for s in items)


def test_requested_address_honoured_then_refused_naming_the_field(
    server: CorralServer, home: Path
) -> None:
    ns = new_namespace(server, home, "pick")
    kubectl_ok(
        server, home, "apply", "-n", ns, "-f", "-", stdin=service_yaml("a", clusterIP="10.43.7.7")
    )
    assert get_json(server, home, "-n", ns, "service", "a")["spec"]["clusterIP"] == "10.43.7.7"
    again = run_kubectl(
        server, home, "apply", "-n", ns, "-f", "-", stdin=service_yaml("b", clusterIP="10.43.7.7")
    )
    assert again.returncode != 0
    assert 'The Service "b" is invalid: spec.clusterIPs' in again.stderr
    assert "failed to allocate IP 10.43.7.7: provided IP is already allocated" in again.stderr
    outside = run_kubectl(
        server, home, "apply", "-n", ns, "-f", "-", stdin=service_yaml("c", clusterIP="10.99.0.1")
    )
    assert outside.returncode != 0
    assert "The range of valid IPs is 10.43.0.0/16" in outside.stderr
    # Deleting the holder frees the address.
    kubectl_ok(server, home, "delete", "-n", ns, "service", "a")
    kubectl_ok(
        server, home, "apply", "-n", ns, "-f", "-", stdin=service_yaml("b", clusterIP="10.43.7.7")
    )
    assert get_json(server, home, "-n", ns, "service", "b")["spec"]["clusterIP"] == "10.43.7.7"


def test_headless_and_dry_run(server: CorralServer, home: Path) -> None:
    ns = new_namespace(server, home, "headless")
    kubectl_ok(
        server, home, "apply", "-n", ns, "-f", "-", stdin=service_yaml("h", clusterIP="None")
    )
    spec = get_json(server, home, "-n", ns, "service", "h")["spec"]
    assert spec["clusterIP"] == "None"
    assert spec["clusterIPs"] == ["None"]
    kubectl_ok(
        server,
        home,
        "apply",
        "-n",
        ns,
        "--dry-run=server",
        "-f",
        "-",
        stdin=service_yaml("d", clusterIP="10.43.9.9"),
    )
    # The dry run took nothing: the address is still free.
    kubectl_ok(
        server, home, "apply", "-n", ns, "-f", "-", stdin=service_yaml("d", clusterIP="10.43.9.9")
    )


def test_node_ports_allocated_unique_and_refused_when_taken(
    server: CorralServer, home: Path
) -> None:
    ns = new_namespace(server, home, "np")
    for i in range(5):
        kubectl_ok(
            server, home, "create", "service", "nodeport", f"n{i}", "--tcp=80:8080", "-n", ns
        )
    ports = [
        s["spec"]["ports"][0]["nodePort"]
        for s in get_json(server, home, "-n", ns, "services")["items"]
    ]
    assert len(set(ports)) == 5
    assert all(30000 <= p <= 32767 for p in ports)
    wanted = service_yaml("fixed", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=wanted)
    clash = service_yaml("clash", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    refused = run_kubectl(server, home, "apply", "-n", ns, "-f", "-", stdin=clash)
    assert refused.returncode != 0
    assert "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in (
        refused.stderr
    )
    # Turning the holder into a ClusterIP service releases its node port.
    kubectl_ok(
        server,
        home,
        "patch",
        "-n",
        ns,
        "service",
        "fixed",
        "--type=merge",
        "-p",
        '{"spec":{"type":"ClusterIP","ports":[{"port":80,"nodePort":null}]}}',
    )
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=clash)


def test_cluster_ip_is_immutable(server: CorralServer, home: Path) -> None:
    ns = new_namespace(server, home, "immutable")
    kubectl_ok(server, home, "apply", "-n", ns, "-f", "-", stdin=service_yaml("x"))
    ip = get_json(server, home, "-n", ns, "service", "x")["spec"]["clusterIP"]
    changed = run_kubectl(
        server,
        home,
        "patch",
        "-n",
        ns,
        "service",
        "x",
        "--type=merge",
        "-p",
        '{"spec":{"clusterIP":"10.43.200.200","clusterIPs":["10.43.200.200"]}}',
    )
    assert changed.returncode != 0
    assert "may not change once set" in changed.stderr
    assert get_json(server, home, "-n", ns, "service", "x")["spec"]["clusterIP"] == ip


def test_allocations_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    home = tmp_path / "home"
    home.mkdir()
    first = start_server(data_dir)
    try:
        kubectl_ok(
            first, home, "apply", "-f", "-", stdin=service_yaml("keep", clusterIP="10.43.5.5")
        )
        kubectl_ok(first, home, "create", "service", "nodeport", "np", "--tcp=80:8080")
        node_port = get_json(first, home, "service", "np")["spec"]["ports"][0]["nodePort"]
    finally:
        assert stop_server(first) == 0
    second = start_server(data_dir)
    try:
        assert get_json(second, home, "service", "keep")["spec"]["clusterIP"] == "10.43.5.5"
        refused = run_kubectl(
            second, home, "apply", "-f", "-", stdin=service_yaml("other", clusterIP="10.43.5.5")
        )
        assert "provided IP is already allocated" in refused.stderr
        clash = service_yaml("np2", type="NodePort", ports=[{"port": 80, "nodePort": node_port}])
        refused = run_kubectl(second, home, "apply", "-f", "-", stdin=clash)
        assert "provided port is already allocated" in refused.stderr
        assert get_json(second, home, "service", "kubernetes")["spec"]["clusterIP"] == "10.43.0.1"
    finally:
        assert stop_server(second) == 0

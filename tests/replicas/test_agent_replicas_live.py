"""An agent connected to one replica serves requests on another; a dead replica's clusters
turn Disconnected.

Two replicas on PostgreSQL (``--cluster-agent-timeout 3s``), a downstream
``corral server --no-management``, the agent as a process dialing replica
A. kubectl through replica B's ``/k8s/clusters/<id>`` reaches the cluster:
B finds A in the cluster's Lease and forwards the stream over a peer tunnel
to A, which opens it on the agent's session. Then A is killed (it cannot
say goodbye): B's lease sweep marks the cluster Disconnected within about
4/3 of the timeout.
"""

from __future__ import annotations

import base64
import hashlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.importtopology import API, AgentProcess, cluster, condition, kubectl, login, make_user
from polling import poll
from serverproc import CorralServer, controller_args, running_server, stop_server

from .datastores import shared_datastore
from .replicaset import start_replicas

pytestmark = pytest.mark.timeout(240)


@dataclass
class Topology:
    a: CorralServer
    b: CorralServer
    cluster: str
    agent: AgentProcess
    kubeconfig_b: Path
    home: Path


def proxied_kubeconfig(server: CorralServer, cluster_id: str, token: str, path: Path) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "edge",
                "cluster": {
                    "server": f"{server.https_url}/k8s/clusters/{cluster_id}",
                    "certificate-authority-data": base64.b64encode(
                        server.ca_path.read_bytes()
                    ).decode(),
                },
            }
        ],
        "users": [{"name": "carol", "user": {"token": token}}],
        "contexts": [{"name": "edge", "context": {"cluster": "edge", "user": "carol"}}],
        "current-context": "edge",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("agent-replicas")
    downstream_args = ["--no-management", *controller_args("*")]
    with (
        running_server(root / "downstream", downstream_args) as downstream,
        shared_datastore("postgres") as url,
        start_replicas(root, url, 2, ("--cluster-agent-timeout", "3s")) as (a, b),
    ):
        with a.client(a.token) as admin:
            make_user(admin, "carol", may_create_clusters=True)
        token = login(a, "carol")
        with a.client(token) as carol:
            made = carol.post(
                f"{API}/clusters",
                json={"metadata": {"generateName": "c-"}, "spec": {"displayName": "edge"}},
            )
            assert made.status_code == 201, made.text
            cluster_id = made.json()["metadata"]["name"]

        def registration_token() -> str:
            with a.client(a.token) as admin:
                got = admin.get(f"{API}/namespaces/{cluster_id}/clusterregistrationtokens")
                items = got.json().get("items") or [] if got.status_code == 200 else []
                value: str = ((items[0].get("status") or {}) if items else {}).get("token", "")
                return value

        secret = poll(registration_token, "the cluster's registration token")
        with a.client() as anonymous:
            pem = anonymous.get("/v3/settings/cacerts").json()["value"]
        checksum = hashlib.sha256(pem.encode()).hexdigest()
        command = f"corral agent --server {a.https_url} --token {secret} --ca-checksum {checksum}"
        agent = AgentProcess(command, downstream.kubeconfig_path, root / "agent.log")
        agent.start()
        try:
            poll(
                lambda: condition(cluster(a, cluster_id), "Connected").get("status") == "True",
                "the agent connected to replica A",
            )
            home = root / "home"
            home.mkdir()
            config_b = proxied_kubeconfig(b, cluster_id, token, root / "via-b.kubeconfig")
            yield Topology(a, b, cluster_id, agent, config_b, home)
        finally:
            agent.stop()


def test_a_request_on_the_replica_without_the_tunnel_is_forwarded(topology: Topology) -> None:
    obj = cluster(topology.b, topology.cluster)
    assert obj["status"]["agent"]["replica"] == topology.a.https_url
    done = kubectl(topology.kubeconfig_b, topology.home, "get", "namespaces", "-o", "name")
    assert done.returncode == 0, done.stderr
    assert "namespace/corral-system" in done.stdout.split()
    made = kubectl(topology.kubeconfig_b, topology.home, "create", "configmap", "via-b")
    assert made.returncode == 0, made.stderr


def test_a_dead_replicas_clusters_turn_disconnected(topology: Topology) -> None:
    stop_server(topology.a, signal.SIGKILL)
    poll(
        lambda: (
            condition(cluster(topology.b, topology.cluster), "Connected").get("status") == "False"
        ),
        "replica B marks the cluster Disconnected",
        deadline=15,
    )
    connected = condition(cluster(topology.b, topology.cluster), "Connected")
    assert connected["reason"] == "AgentDisconnected"
    assert "stopped renewing" in connected["message"]
    refused = kubectl(topology.kubeconfig_b, topology.home, "get", "namespaces")
    assert refused.returncode != 0

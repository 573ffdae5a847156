"""Clusters on two replicas of one datastore: a cluster made through one
replica is importable through the other (each keeps its own token index),
and only the leader of ``corral-management`` runs the cluster controller."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.storage.encryption import ensure_key_file
from polling import poll
from serverproc import CorralServer

from .datastores import shared_datastore
from .replicaset import start_replicas

pytestmark = pytest.mark.timeout(180)

API = "/apis/management.corral.io/v1"
SERVER_URL = "https://corral.example.test"


def test_a_cluster_made_on_one_replica_imports_through_the_other(tmp_path: Path) -> None:
    ensure_key_file(tmp_path / "encryption-config.json")
    with (
        shared_datastore("etcd") as url,
        start_replicas(tmp_path, url, count=2, extra=("--server-url", SERVER_URL)) as servers,
    ):
        a, b = servers
        with a.client(a.token) as http:
            made = http.post(
                f"{API}/clusters",
                json={
                    "apiVersion": "management.corral.io/v1",
                    "kind": "Cluster",
                    "metadata": {"generateName": "c-"},
                    "spec": {"displayName": "shared"},
                },
            )
            assert made.status_code == 201, made.text
            cluster_id = made.json()["metadata"]["name"]

            def token() -> str:
                answer = http.get(
                    f"{API}/namespaces/{cluster_id}/clusterregistrationtokens/default-token"
                )
                value: str = (
                    answer.json().get("status", {}).get("token", "") if answer.is_success else ""
                )
                return value

            secret = poll(token, "the registration token")
        _served_by(b, f"/v3/import/{secret}_{cluster_id}.yaml")
        _served_by(a, f"/v3/import/{secret}_{cluster_id}.yaml")
        with b.client(b.token) as http:
            lease = http.get(
                "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/corral-management"
            )
            assert lease.status_code == 200
            holder = lease.json()["spec"]["holderIdentity"]
            assert holder
            # made once, by whichever replica leads
            poll(lambda: http.get(f"{API}/clusters/local").status_code == 200, "local")


def _served_by(server: CorralServer, path: str) -> None:
    with server.client() as anonymous:
        poll(lambda: anonymous.get(path).status_code == 200, f"{path} on {server.https_url}")

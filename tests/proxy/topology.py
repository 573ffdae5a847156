"""Two real servers for the proxy tests: a management server and a downstream cluster.

The downstream is ``corral server --no-management`` with a simulated node
and an audit log. The admin creates a Cluster on the management server and
runs the ``corral agent`` command its status shows (with the downstream's
admin kubeconfig, as `e2e.importtopology` does): the agent makes its
service account downstream, registers, and holds the tunnel every proxied
request goes through. Corral users: ``alice`` may use clusters (Corral's
RBAC lets her update clusters.management.corral.io) and is cluster-admin
downstream; ``bob`` may log in but use no cluster.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from e2e.importtopology import (
    API,
    LOGIN,
    PASSWORD,
    AgentProcess,
    cluster,
    condition,
    start_management,
)
from polling import poll
from serverproc import CorralServer, controller_args, free_port, running_server, stop_server

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@dataclass
class Topology:
    management: CorralServer
    downstream: CorralServer
    audit_log: Path
    tokens: dict[str, str]
    cluster: str

    def proxied_url(self, cluster: str = "") -> str:
        return f"{self.management.https_url}/k8s/clusters/{cluster or self.cluster}"

    def kubeconfig(self, path: Path, user: str, cluster: str = "") -> Path:
        """A kubeconfig reaching ``cluster`` through the proxy as ``user``."""
        cluster = cluster or self.cluster
        ca = base64.b64encode(self.management.ca_path.read_bytes()).decode()
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {
                        "server": self.proxied_url(cluster),
                        "certificate-authority-data": ca,
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": self.tokens[user]}}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
            "current-context": cluster,
        }
        path.write_text(yaml.safe_dump(doc))
        return path

    def audit_events(self) -> list[dict[str, Any]]:
        text = self.audit_log.read_text() if self.audit_log.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def binding(name: str, role: str, kind: str, subject: str, namespace: str = "") -> dict[str, Any]:
    who: dict[str, Any] = {"kind": kind, "name": subject}
    if kind == "ServiceAccount":
        who["namespace"] = namespace
    else:
        who["apiGroup"] = "rbac.authorization.k8s.io"
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [who],
    }


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def grant_alice_downstream(downstream: CorralServer) -> None:
    """``alice`` is cluster-admin in the downstream cluster (its own RBAC decides there)."""
    with downstream.client(downstream.token) as http:
        created(
            http.post(
                f"{RBAC}/clusterrolebindings",
                json=binding("alice-cluster-admin", "cluster-admin", "User", "alice"),
            )
        )


def create_cluster(management: CorralServer, display_name: str) -> tuple[str, str]:
    """A Cluster made by the admin; its id and the ``corral agent`` command it shows."""
    with management.client(management.token) as http:
        made = created(
            http.post(
                f"{API}/clusters",
                json={"metadata": {"generateName": "c-"}, "spec": {"displayName": display_name}},
            )
        )
    cluster_id = str(made["metadata"]["name"])
    command = poll(
        lambda: (
            (cluster(management, cluster_id).get("status") or {}).get("registration") or {}
        ).get("agentCommand"),
        "the import command in the Cluster's status",
    )
    return cluster_id, str(command)


def make_users(management: CorralServer) -> dict[str, str]:
    """``alice`` (may use clusters) and ``bob`` (may not); their kubeconfig tokens."""
    tokens: dict[str, str] = {}
    with management.client(management.token) as http:
        created(
            http.post(
                f"{RBAC}/clusterroles",
                json={
                    "metadata": {"name": "clusters-manager"},
                    "rules": [
                        {
                            "apiGroups": ["management.corral.io"],
                            "resources": ["clusters"],
                            "verbs": ["*"],
                        }
                    ],
                },
            )
        )
        created(
            http.post(
                f"{RBAC}/clusterrolebindings",
                json=binding("alice-clusters", "clusters-manager", "User", "alice"),
            )
        )
        for name in ("alice", "bob"):
            created(
                http.post(
                    "/v3/users",
                    json={"username": name, "password": PASSWORD, "mustChangePassword": False},
                )
            )
    for name in ("alice", "bob"):
        with management.client() as http:
            login = created(http.post(LOGIN, json={"username": name, "password": PASSWORD}))
        with management.client(login["token"]) as http:
            made = created(http.post("/v3/tokens", json={"tokenKind": "kubeconfig"}))
        tokens[name] = made["token"]
    return tokens


def topology(root: Path) -> Iterator[Topology]:
    """Both servers, the cluster imported by a ``corral agent`` process, the users;
    for the duration of the generator."""
    audit = root / "downstream-audit.log"
    downstream_args = (
        "--no-management",
        "--simulate-nodes",
        "1",
        "--audit-log-path",
        str(audit),
        *controller_args("*"),
    )
    with running_server(root / "downstream", downstream_args) as downstream:
        management = start_management(root / "management", free_port(), free_port())
        agent: AgentProcess | None = None
        try:
            grant_alice_downstream(downstream)
            cluster_id, command = create_cluster(management, "proxied")
            agent = AgentProcess(command, downstream.kubeconfig_path, root / "agent.log")
            agent.start()
            poll(
                lambda: (
                    condition(cluster(management, cluster_id), "Connected").get("status") == "True"
                ),
                "the cluster's agent to connect",
            )
            tokens = make_users(management)
            yield Topology(management, downstream, audit, tokens, cluster_id)
        finally:
            if agent is not None and agent.proc is not None:
                agent.stop()
            stop_server(management)

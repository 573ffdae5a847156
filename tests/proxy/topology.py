"""Two real servers for the proxy tests: a management server and a downstream cluster.

The downstream is ``corral server --no-management`` with simulated nodes and
an audit log; it gets what the agent would make (namespace ``corral-system``,
service account ``corral-agent`` allowed to impersonate users and groups,
and a token for it). The management server gets that registration in the
``cluster-agent`` Secret of namespace `CLUSTER` — the cluster is reached
directly ("when its API is reachable from the server"). Corral users:
``alice`` may use clusters (Corral's RBAC lets her update
clusters.management.corral.io) and is cluster-admin downstream; ``bob``
may log in but use no cluster.
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

from serverproc import CorralServer, controller_args, running_server

CLUSTER = "c-proxy"
PASSWORD = "correct-horse-battery"
LOGIN = "/v3-public/localProviders/local?action=login"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


@dataclass
class Topology:
    management: CorralServer
    downstream: CorralServer
    audit_log: Path
    tokens: dict[str, str]

    def proxied_url(self, cluster: str = CLUSTER) -> str:
        return f"{self.management.https_url}/k8s/clusters/{cluster}"

    def kubeconfig(self, path: Path, user: str, cluster: str = CLUSTER) -> Path:
        """A kubeconfig reaching ``cluster`` through the proxy as ``user``."""
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


def register_agent(downstream: CorralServer) -> str:
    """What the agent makes downstream; returns its service account's token."""
    with downstream.client(downstream.token) as http:
        created(http.post("/api/v1/namespaces", json={"metadata": {"name": "corral-system"}}))
        created(
            http.post(
                "/api/v1/namespaces/corral-system/serviceaccounts",
                json={"metadata": {"name": "corral-agent"}},
            )
        )
        rule = {"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}
        created(
            http.post(
                f"{RBAC}/clusterroles",
                json={"metadata": {"name": "corral-agent-impersonate"}, "rules": [rule]},
            )
        )
        created(
            http.post(
                f"{RBAC}/clusterrolebindings",
                json=binding(
                    "corral-agent",
                    "corral-agent-impersonate",
                    "ServiceAccount",
                    "corral-agent",
                    "corral-system",
                ),
            )
        )
        created(
            http.post(
                f"{RBAC}/clusterrolebindings",
                json=binding("alice-cluster-admin", "cluster-admin", "User", "alice"),
            )
        )
        token = created(
            http.post(
                "/api/v1/namespaces/corral-system/serviceaccounts/corral-agent/token",
                json={"spec": {"expirationSeconds": 86400}},
            )
        )
    return str(token["status"]["token"])


def register_cluster(management: CorralServer, downstream: CorralServer, sa_token: str) -> None:
    """The ``cluster-agent`` Secret, as the agent's registration leaves it."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    with management.client(management.token) as http:
        created(http.post("/api/v1/namespaces", json={"metadata": {"name": CLUSTER}}))
        created(
            http.post(
                f"/api/v1/namespaces/{CLUSTER}/secrets",
                json={
                    "metadata": {"name": "cluster-agent"},
                    "type": "corral.io/cluster-agent",
                    "data": {
                        "address": b64(downstream.https_url),
                        "caCert": b64(downstream.ca_path.read_text()),
                        "token": b64(sa_token),
                    },
                },
            )
        )


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
    """Both servers, registered and with their users, for the duration of the generator."""
    audit = root / "downstream-audit.log"
    downstream_args = (
        "--no-management",
        "--simulate-nodes",
        "1",
        "--audit-log-path",
        str(audit),
        *controller_args("*"),
    )
    with (
        running_server(root / "downstream", downstream_args) as downstream,
        running_server(root / "management") as management,
    ):
        sa_token = register_agent(downstream)
        register_cluster(management, downstream, sa_token)
        tokens = make_users(management)
        yield Topology(management, downstream, audit, tokens)

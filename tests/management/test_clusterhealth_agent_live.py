"""Cluster health through the real tunnel: management server, downstream server, agent process.

A management ``corral server``, a downstream ``corral server --no-management
--simulate-nodes 3`` and ``corral agent --kubeconfig <downstream>`` as a
process. Once the agent connects, the health controllers inside the
management server reach the downstream only through the agent's tunnel: the
Cluster turns Ready with the downstream's version and three nodes, and the
Cluster's creator (``admin``, also a global admin) becomes cluster-admin
downstream; a downstream warning shows in ``kubectl describe cluster``.
Stopping the agent turns it Disconnected; starting it again brings it back
with no manual step.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.client import Client
from corral.controller import get_condition
from corral.management.clusterhealth.kinds import CLUSTER_ROLE_BINDINGS, EVENTS
from corral.management.clusterkinds import CLUSTER_REGISTRATION_TOKENS, CLUSTERS
from kubectlproc import kubectl_ok
from polling import eventually
from serverproc import CorralServer, controller_args, corral_argv, running_server

pytestmark = pytest.mark.timeout(150)

soon = functools.partial(eventually, deadline=45.0, interval=0.25)


@pytest.fixture(scope="module")
def downstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    args = controller_args("*", "--no-management", "--simulate-nodes", "3")
    with running_server(tmp_path_factory.mktemp("downstream") / "data", args) as server:
        yield server


@pytest.fixture(scope="module")
def management(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    with running_server(tmp_path_factory.mktemp("mgmt") / "data", controller_args("-*")) as srv:
        yield srv


def start_agent(
    management: CorralServer, downstream: CorralServer, token: str, log: Path
) -> subprocess.Popen[bytes]:
    checksum = hashlib.sha256(management.ca_path.read_bytes()).hexdigest()
    argv = corral_argv(
        "agent",
        "--server",
        management.https_url,
        "--ca-checksum",
        checksum,
        "--kubeconfig",
        str(downstream.kubeconfig_path),
        "--backoff-scale",
        "0.05",
    )
    with log.open("ab") as out:
        # The token goes by the environment, as the agent's help recommends.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
        return subprocess.Popen(argv, stdout=out, stderr=out, env={**env, "CORRAL_TOKEN": token})


def stop_agent(agent: subprocess.Popen[bytes]) -> None:
    agent.terminate()
    try:
        agent.wait(20)
    except subprocess.TimeoutExpired:
        agent.kill()
        agent.wait()


def _ready(cluster: dict[str, Any]) -> dict[str, Any]:
    return get_condition(cluster, "Ready") or {}


async def test_health_through_the_agent_tunnel(
    management: CorralServer, downstream: CorralServer, tmp_path: Path
) -> None:
    async with (
        Client.from_kubeconfig(management.kubeconfig_path) as mgmt,
        Client.from_kubeconfig(downstream.kubeconfig_path) as down,
    ):
        await soon(lambda: _served(mgmt), "the Cluster kind served")
        body = {"metadata": {"generateName": "c-"}, "spec": {"displayName": "through-agent"}}
        cluster_id = (await mgmt.create(CLUSTERS, body))["metadata"]["name"]

        async def token() -> str:
            try:
                found = await mgmt.get(
                    CLUSTER_REGISTRATION_TOKENS, "default-token", namespace=cluster_id
                )
            except Exception:
                return ""
            return str((found.get("status") or {}).get("token") or "")

        secret = await soon(token, "the registration token")
        log = tmp_path / "agent.log"
        agent = start_agent(management, downstream, secret, log)
        try:

            async def ready() -> dict[str, Any] | None:
                cluster = await mgmt.get(CLUSTERS, cluster_id)
                status = cluster.get("status") or {}
                good = _ready(cluster).get("status") == "True" and status.get("nodeCount") == 3
                return cluster if good else None

            cluster = await soon(ready, f"Ready through the tunnel; agent log:\n{log}")
            version = await down.get_path("/version")
            assert cluster["status"]["version"]["gitVersion"] == version["gitVersion"]
            assert cluster["status"]["state"] == "active"
            assert cluster["status"]["capacity"]["cpu"] == "24"
            creator = cluster["metadata"]["annotations"]["corral.io/creator-id"]
            home = tmp_path / "kubectl-home"
            home.mkdir()
            table = kubectl_ok(management, home, "get", "clusters", cluster_id)
            row = table.splitlines()[1].split()
            assert row[:5] == [
                cluster_id,
                "through-agent",
                "active",
                version["gitVersion"],
                "3",
            ], table

            async def bound() -> bool:
                page = await down.list(
                    CLUSTER_ROLE_BINDINGS, label_selector="corral.io/managed=true"
                )
                names = {i["metadata"]["name"] for i in page["items"]}
                return f"corral-admin-{creator}" in names

            await soon(bound, f"the creator {creator!r} bound to cluster-admin downstream")

            stamp = "2026-01-01T00:00:00Z"
            warning = {
                "metadata": {"name": "image-trouble", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0"},
                "reason": "ImagePullBackOff",
                "message": "cannot pull example/web:1",
                "type": "Warning",
                "count": 1,
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
            }
            await down.create(EVENTS, warning, namespace="default")

            def described() -> str:
                text = kubectl_ok(management, home, "describe", "cluster", cluster_id)
                return text if "ImagePullBackOff" in text else ""

            text = await soon(described, "the warning shown by kubectl describe cluster")
            assert "Pod default/web-0: cannot pull example/web:1" in text
        finally:
            stop_agent(agent)

        async def disconnected() -> bool:
            cluster = await mgmt.get(CLUSTERS, cluster_id)
            return _ready(cluster).get("reason") == "Disconnected"

        await soon(disconnected, "Ready False Disconnected once the agent is gone")

        agent = start_agent(management, downstream, secret, log)
        try:
            await soon(ready, "Ready again when the agent comes back")
        finally:
            stop_agent(agent)


async def _served(client: Client) -> bool:
    try:
        await client.list(CLUSTERS, limit=1)
    except Exception:
        return False
    return True

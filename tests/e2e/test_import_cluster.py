"""Issue 9, shown end to end: a cluster imported through its agent's tunnel, used with kubectl.

A management ``corral server`` and a downstream ``corral server
--no-management --simulate-nodes 3 --controllers`` (with an audit log), on
other ports; the agent runs as a process from the ``agentCommand`` the
Cluster's status shows, with ``--kubeconfig`` of the downstream. ``carol``
(who may create clusters) imports it and gets a kubeconfig from
``generateKubeconfig``; ``alice`` has no rights. With the real kubectl,
through ``/k8s/clusters/<id>``: get, apply, watch, logs and delete as
carol (the downstream audit log shows the agent's service account
impersonating carol); alice is denied; ``--as`` is refused. Then: the agent
killed → Disconnected; started again → Connected and Ready, no manual step;
the management server restarted → the agent reconnects by itself. Last, a
wrong CA checksum and a man in the middle relaying the genuine CA: the agent
refuses, and the token never leaves it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.tlsrelay import TLSRelay
from kubectlproc import kubectl_env
from polling import poll
from serverproc import (
    CorralServer,
    controller_args,
    corral_argv,
    free_port,
    running_server,
    stop_server,
)

from .importtopology import (
    API,
    AgentProcess,
    cluster,
    condition,
    kubectl,
    login,
    make_user,
    start_management,
    user_kubeconfig,
    with_token,
)

pytestmark = pytest.mark.slow
AGENT_ACCOUNT = "system:serviceaccount:corral-system:corral-agent"

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: hello, namespace: default}
spec:
  containers: [{name: hello, image: busybox}]
"""


@dataclass
class Imported:
    management: CorralServer
    downstream: CorralServer
    audit_log: Path
    cluster: str
    agent: AgentProcess
    carol: Path
    alice: Path
    home: Path
    ports: tuple[int, int]
    data_dir: Path


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    root = tmp_path_factory.mktemp("import")
    audit_log = root / "downstream-audit.log"
    downstream_args = [
        "--no-management",
        "--simulate-nodes",
        "3",
        "--audit-log-path",
        str(audit_log),
        "--audit-level",
        "Metadata",
        *controller_args("*"),
    ]
    with running_server(root / "downstream", downstream_args) as downstream:
        ports = (free_port(), free_port())
        data_dir = root / "management"
        management = start_management(data_dir, *ports, "--cluster-agent-timeout", "3s")
        agent: AgentProcess | None = None
        topology: Imported | None = None
        try:
            with management.client(management.token) as admin:
                make_user(admin, "carol", may_create_clusters=True)
                make_user(admin, "alice", may_create_clusters=False)
            carol_token = login(management, "carol")
            with management.client(carol_token) as carol:
                made = carol.post(
                    f"{API}/clusters",
                    json={"metadata": {"generateName": "c-"}, "spec": {"displayName": "edge"}},
                )
                assert made.status_code == 201, made.text
                cluster_id = made.json()["metadata"]["name"]
            command = poll(
                lambda: (
                    (cluster(management, cluster_id).get("status") or {}).get("registration") or {}
                ).get("agentCommand"),
                "the import command in the Cluster's status",
            )
            agent = AgentProcess(command, downstream.kubeconfig_path, root / "agent.log")
            agent.start()
            poll(
                lambda: (
                    condition(cluster(management, cluster_id), "Connected").get("status") == "True"
                ),
                "the cluster to connect",
            )
            home = root / "home"
            home.mkdir()
            carol_config = user_kubeconfig(
                management, carol_token, cluster_id, root / "carol.kubeconfig"
            )
            alice_config = with_token(
                carol_config, login(management, "alice"), root / "alice.kubeconfig"
            )
            topology = Imported(
                management,
                downstream,
                audit_log,
                cluster_id,
                agent,
                carol_config,
                alice_config,
                home,
                ports,
                data_dir,
            )
            yield topology
        finally:
            stopped = agent.stop() if agent is not None and agent.proc is not None else 0
            # The management server the tests left running (a test restarts it).
            stop_server(topology.management if topology is not None else management)
        assert stopped == 0, "corral agent exits 0 on SIGTERM"


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_imported_cluster_is_connected_and_ready(imported: Imported) -> None:
    obj = cluster(imported.management, imported.cluster)
    connected = condition(obj, "Connected")
    assert connected["reason"] == "AgentConnected"
    assert obj["status"]["agent"]["connected"] is True
    assert obj["status"]["agent"]["replica"] == imported.management.https_url
    ready = poll(
        lambda: (
            condition(cluster(imported.management, imported.cluster), "Ready").get("status")
            == "True"
        ),
        "Ready (the health controllers reach the API through the tunnel)",
        deadline=60,
    )
    assert ready
    assert poll(
        lambda: cluster(imported.management, imported.cluster)["status"].get("nodeCount") == 3
    )
    assert imported.agent.proc is not None
    assert imported.agent.proc.poll() is None
    with imported.management.client(imported.management.token) as admin:
        metrics = admin.get("/metrics").text
    assert 'corral_tunnel_sessions{role="server"} 1.0' in metrics
    assert "X-Corral" not in imported.agent.log()
    words = shlex.split(imported.agent.command)
    token = words[words.index("--token") + 1]
    assert token not in imported.agent.log()
    assert token not in imported.management.stderr()


def test_kubectl_get_apply_watch_logs_delete_through_the_proxy(imported: Imported) -> None:
    carol, home = imported.carol, imported.home
    nodes = json.loads(ok(kubectl(carol, home, "get", "nodes", "-o", "json")))
    assert len(nodes["items"]) == 3
    watch = subprocess.Popen(
        [
            "/usr/bin/kubectl",
            "--kubeconfig",
            str(carol),
            "get",
            "configmaps",
            "-n",
            "default",
            "--watch",
            "-o",
            "name",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(home),
    )
    try:
        ok(kubectl(carol, home, "apply", "-f", "-", stdin=POD))
        ok(kubectl(carol, home, "create", "configmap", "through-the-tunnel", "-n", "default"))
        assert watch.stdout is not None
        seen = ""
        deadline = time.monotonic() + 30
        while "through-the-tunnel" not in seen and time.monotonic() < deadline:
            seen += watch.stdout.readline()
        assert "configmap/through-the-tunnel" in seen, (
            seen,
            watch.poll(),
            watch.stderr and watch.stderr.read(),
        )
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.wait(10)
    ok(kubectl(carol, home, "wait", "--for=condition=Ready", "pod/hello", "--timeout=60s"))
    logs = poll(
        lambda: ok(kubectl(carol, home, "logs", "pod/hello")),
        "the pod's log through the proxy",
    )
    assert "simulated container hello of pod default/hello" in logs
    ok(kubectl(carol, home, "delete", "pod", "hello", "--wait=false"))
    ok(kubectl(carol, home, "delete", "configmap", "through-the-tunnel"))
    assert "NotFound" in kubectl(carol, home, "get", "configmap", "through-the-tunnel").stderr

    def carol_created_it() -> bool:
        text = imported.audit_log.read_text() if imported.audit_log.exists() else ""
        for line in text.splitlines():
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            impersonated = (event.get("impersonatedUser") or {}).get("username")
            created = event.get("verb") == "create" and ref.get("resource") == "configmaps"
            if created and impersonated == "carol":
                assert event["user"]["username"] == AGENT_ACCOUNT
                return True
        return False

    poll(carol_created_it, "the downstream audit record of carol's create")


def test_a_user_without_rights_is_denied_and_as_is_refused(imported: Imported) -> None:
    denied = kubectl(imported.alice, imported.home, "get", "namespaces")
    assert denied.returncode != 0
    assert "Forbidden" in denied.stderr or "forbidden" in denied.stderr
    as_other = kubectl(imported.carol, imported.home, "--as=someone-else", "get", "namespaces")
    assert as_other.returncode != 0
    assert "forbidden" in as_other.stderr.lower()


def test_killing_the_agent_disconnects_and_a_new_agent_reconnects(imported: Imported) -> None:
    mgmt = imported.management
    imported.agent.stop(signal.SIGKILL)
    gone = poll(
        lambda: condition(cluster(mgmt, imported.cluster), "Connected").get("status") == "False",
        "Disconnected after the agent was killed",
        deadline=15,
    )
    assert gone
    obj = cluster(mgmt, imported.cluster)
    assert condition(obj, "Connected")["reason"] == "AgentDisconnected"
    assert obj["status"]["agent"]["connected"] is False
    refused = kubectl(imported.carol, imported.home, "get", "namespaces")
    assert refused.returncode != 0
    imported.agent.start()
    poll(
        lambda: condition(cluster(mgmt, imported.cluster), "Connected").get("status") == "True",
        "Connected again",
    )
    poll(
        lambda: condition(cluster(mgmt, imported.cluster), "Ready").get("status") == "True",
        "Ready again",
        deadline=60,
    )
    ok(kubectl(imported.carol, imported.home, "get", "namespaces"))


def test_the_agent_reconnects_by_itself_after_a_management_restart(imported: Imported) -> None:
    before = cluster(imported.management, imported.cluster)["status"]["agent"]["lastConnected"]
    assert stop_server(imported.management) == 0
    time.sleep(1.1)  # lastConnected has second precision: make the next one differ
    imported.management = start_management(
        imported.data_dir, *imported.ports, "--cluster-agent-timeout", "3s"
    )

    def reconnected() -> bool:
        obj = cluster(imported.management, imported.cluster)
        agent = obj["status"].get("agent") or {}
        return agent.get("connected") is True and agent.get("lastConnected") != before

    poll(reconnected, "the agent's new tunnel after the restart", deadline=60)
    assert imported.agent.starts == 2
    assert imported.agent.proc is not None
    assert imported.agent.proc.poll() is None  # the same process
    poll(
        lambda: kubectl(imported.carol, imported.home, "get", "namespaces").returncode == 0,
        "kubectl through the new tunnel",
        deadline=30,
    )


def agent_argv(imported: Imported, server: str, checksum: str) -> list[str]:
    words = shlex.split(imported.agent.command)
    token = words[words.index("--token") + 1]
    return corral_argv(
        "agent",
        "--server",
        server,
        "--token",
        token,
        "--ca-checksum",
        checksum,
        "--kubeconfig",
        str(imported.downstream.kubeconfig_path),
    )


def test_a_wrong_checksum_is_refused_before_the_token_is_sent(imported: Imported) -> None:
    code, stderr = imported.agent.run_to_end(
        agent_argv(imported, imported.management.https_url, "0" * 64)
    )
    assert code == 1
    assert "does not match --ca-checksum" in stderr


async def test_a_man_in_the_middle_is_refused_and_sees_no_token(
    imported: Imported, tmp_path: Path
) -> None:
    checksum = hashlib.sha256(imported.management.ca_path.read_bytes()).hexdigest()
    port = int(imported.management.https_url.rsplit(":", 1)[1])
    async with TLSRelay(tmp_path / "mitm", "127.0.0.1", port) as relay:
        proc = await asyncio.create_subprocess_exec(
            *agent_argv(imported, relay.url, checksum),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert "pinned CA does not accept" in stderr.decode()
    words = shlex.split(imported.agent.command)
    token = words[words.index("--token") + 1]
    assert b"/v3/settings/cacerts" in relay.seen  # the genuine CA was relayed to it
    assert token.encode() not in relay.seen
    assert b"X-Corral" not in relay.seen

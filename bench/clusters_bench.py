"""100 imported clusters at idle: what their agents' tunnels cost the management server.

One management `corral server` (subprocess, SQLite, pinned to core 0) holds
the tunnels of `CLUSTERS` imported clusters. Their agents run in ONE other
process (`python -m bench.clusters_bench agents …`, pinned to core 1): each a real
`AgentConnection` — its own WebSocket over pinned TLS, its own registration
with its cluster's token — declaring one shared downstream ``corral server
--no-management`` (core 1) as its API, so the per-cluster health controllers
really watch 100 clusters through 100 tunnels. Once every Cluster reports
``Connected`` and ``Ready``, the server is left idle and measured over
`ROUNDS` windows of `WINDOW` seconds: resident memory (VmRSS) and CPU time
(utime + stime from /proc) as a percentage of one core. Goals (issue 9):
<= 300 MB and <= 5 % of one core.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.report import Figure, Run
from bench.server import Server, running_server

CLUSTERS = 100
WINDOW = 20.0
ROUNDS = 3
SETTLE = 10.0
CONNECT_DEADLINE = 240.0
GROUP_PATH = "/apis/management.corral.io/v1"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _create_clusters(http: httpx.Client, count: int) -> list[str]:
    ids = []
    for i in range(count):
        body = {
            "apiVersion": "management.corral.io/v1",
            "kind": "Cluster",
            "metadata": {"generateName": "c-"},
            "spec": {"displayName": f"bench-{i:03d}"},
        }
        answer = http.post(f"{GROUP_PATH}/clusters", json=body)
        answer.raise_for_status()
        ids.append(answer.json()["metadata"]["name"])
    return ids


def _tokens(http: httpx.Client, ids: list[str]) -> list[str]:
    deadline = time.monotonic() + CONNECT_DEADLINE
    tokens: dict[str, str] = {}
    while len(tokens) < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(tokens)} of {len(ids)} registration tokens appeared")
        items = http.get(f"{GROUP_PATH}/clusterregistrationtokens").json()["items"]
        for item in items:
            token = (item.get("status") or {}).get("token")
            if token:
                tokens[item["metadata"]["namespace"]] = token
        time.sleep(0.5)
    return [tokens[i] for i in ids]


def _ready(http: httpx.Client) -> int:
    """How many clusters are Connected and Ready."""
    count = 0
    for c in http.get(f"{GROUP_PATH}/clusters").json()["items"]:
        status = c.get("status") or {}
        conditions = {d.get("type"): d.get("status") for d in status.get("conditions") or []}
        if (status.get("agent") or {}).get("connected") and conditions.get("Ready") == "True":
            count += 1
    return count


def _measure(server: Server, report: Run, count: int) -> None:
    rss, cpu = [], []
    for _ in range(ROUNDS):
        start_cpu, start = _cpu_seconds(server.proc.pid), time.monotonic()
        time.sleep(WINDOW)
        used = _cpu_seconds(server.proc.pid) - start_cpu
        cpu.append(100.0 * used / (time.monotonic() - start))
        rss.append(server.memory_mb())
    report.add(Figure(f"server RSS, {count} idle connected clusters", "MB", rss, at_most=300))
    report.add(
        Figure(f"server CPU, {count} idle connected clusters", "% of one core", cpu, at_most=5)
    )


def _agents_argv(server: Server, checksum: str, token_file: Path, kubeconfig: Path) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "bench.clusters_bench",
        "agents",
        server.https_url,
        checksum,
        str(token_file),
        str(kubeconfig),
    ]
    return ["taskset", "-c", "1", *cmd] if (os.cpu_count() or 1) > 1 else cmd


def run(report: Run) -> None:
    with tempfile.TemporaryDirectory(prefix="corral-bench-clusters-") as tmp:
        root = Path(tmp)
        with (
            running_server(root / "downstream", cpu=1, args=("--no-management",)) as downstream,
            running_server(root / "server", cpu=0) as server,
        ):
            http = httpx.Client(
                base_url=server.https_url,
                verify=server.ca_file,
                headers={"Authorization": f"Bearer {server.token}"},
                timeout=30,
            )
            baseline = server.memory_mb()
            ids = _create_clusters(http, CLUSTERS)
            token_file = root / "tokens"
            token_file.write_text("\n".join(_tokens(http, ids)) + "\n")
            pem = http.get("/v3/settings/cacerts").json()["value"]
            checksum = hashlib.sha256(pem.encode()).hexdigest()
            kubeconfig = downstream.data_dir / "admin.kubeconfig"
            argv = _agents_argv(server, checksum, token_file, kubeconfig)
            agents = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                started = time.monotonic()
                while (ready := _ready(http)) < CLUSTERS:
                    if agents.poll() is not None:
                        raise RuntimeError(f"the agents' process exited with {agents.returncode}")
                    if time.monotonic() - started > CONNECT_DEADLINE:
                        raise RuntimeError(f"only {ready} of {CLUSTERS} clusters became Ready")
                    time.sleep(1.0)
                all_ready = time.monotonic() - started
                time.sleep(SETTLE)  # let the first status writes and mirrors settle
                report.notes.append(
                    f"server RSS before the clusters existed: {baseline:.1f} MB; all "
                    f"{CLUSTERS} clusters Connected and Ready {all_ready:.1f} s after the "
                    f"agents started; {CLUSTERS} agents in one separate process (core 1), each "
                    f"its own WebSocket and registration, all declaring one shared downstream "
                    f"API (core 1) that the health controllers watch through each tunnel; "
                    f"idle windows of {WINDOW:.0f} s after {SETTLE:.0f} s to settle"
                )
                _measure(server, report, CLUSTERS)
            finally:
                agents.terminate()
                try:
                    agents.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    agents.kill()
                    agents.wait()
                http.close()


async def _run_agents(server_url: str, checksum: str, token_file: Path, kubeconfig: str) -> None:
    """Run one in-process agent per token until SIGTERM."""
    import signal

    from corral.agent.backoff import Backoff
    from corral.agent.connection import AgentConnection
    from corral.agent.declaration import from_kubeconfig
    from corral.agent.pinning import fetch_pinned_ca, pinned_context

    pem = await fetch_pinned_ca(server_url, checksum)
    context = pinned_context(pem)
    declared = await from_kubeconfig(kubeconfig)  # one shared downstream API
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tokens = await asyncio.to_thread(token_file.read_text)
    connections = [
        AgentConnection(
            server_url, token, declared, context, Backoff(), name=f"agent-{i}", stop=stop
        )
        for i, token in enumerate(tokens.split())
    ]
    tasks: list[Any] = [asyncio.create_task(c.run()) for c in connections]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "agents":
        asyncio.run(_run_agents(sys.argv[2], sys.argv[3], Path(sys.argv[4]), sys.argv[5]))
    else:
        raise SystemExit(
            "usage: python -m bench.clusters_bench agents SERVER CHECKSUM TOKEN_FILE KUBECONFIG"
        )

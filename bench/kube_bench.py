"""Built-in controllers at scale: deployments to Available, informer memory, reconcile rate.

Issue 4's figures, on this 2-core machine:

- 1,000 Deployments of 3 replicas, created at once on a server started with
  ``--simulate-nodes 50``: seconds until every one reports
  ``availableReplicas: 3`` (goal: within 60 s). The whole chain runs for real
  inside the server: deployment → replicaset → 3,000 pods → scheduler →
  simulated kubelets → status back up.
- Informer memory per 10,000 objects: Python heap (tracemalloc) an
  `Informer`'s cache holds after listing 10,000 small ConfigMaps.
- Creates/s of ConfigMaps with every controller running (after the rollout,
  3,000 pods in the caches): the API server's figure of the api suite with
  the cost of the controllers' watches and handlers added.
- Reconcile throughput: keys per second a `Controller` with one trivial
  handler works through when its informer delivers 10,000 objects.

The load generator and the in-process informer use httpx / corral.client
from the benchmark process.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.api_bench import SERVER_CPU, run_wrk
from bench.report import Figure, Run
from bench.server import Server, running_server
from corral.client import Client, ClusterConfig, ResourceRef
from corral.controller import Controller, Informer

DEPLOYMENTS = 1_000
REPLICAS = 3
NODES = 50
OBJECTS = 10_000
CONFIGMAPS = ResourceRef("", "v1", "configmaps", kind="ConfigMap")


def _http(server: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.https_url,
        verify=server.ca_file,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=16),
    )


def _deployment(i: int) -> dict[str, Any]:
    labels = {"app": f"d{i}"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"d{i}", "namespace": "bench"},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.example/app:1",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }


async def _deployments_available(server: Server) -> float:
    async with _http(server) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": "bench"}})
        sem = asyncio.Semaphore(16)

        async def create(i: int) -> None:
            async with sem:
                r = await http.post(
                    "/apis/apps/v1/namespaces/bench/deployments", json=_deployment(i)
                )
                r.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(DEPLOYMENTS)))
        while True:
            r = await http.get("/apis/apps/v1/namespaces/bench/deployments")
            items = r.json()["items"]
            ready = sum(1 for d in items if (d.get("status") or {}).get("availableReplicas") == 3)
            if ready == DEPLOYMENTS:
                return time.perf_counter() - start
            if time.perf_counter() - start > 300:
                raise RuntimeError(f"only {ready}/{DEPLOYMENTS} deployments Available after 300 s")
            await asyncio.sleep(0.5)


async def _namespace(server: Server, name: str) -> None:
    async with _http(server) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": name}})


async def _seed_configmaps(server: Server) -> None:
    async with _http(server) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": "informer"}})
        sem = asyncio.Semaphore(16)

        async def create(i: int) -> None:
            async with sem:
                body = {"metadata": {"name": f"cm-{i:05d}"}, "data": {"k": "v" * 64}}
                r = await http.post("/api/v1/namespaces/informer/configmaps", json=body)
                r.raise_for_status()

        await asyncio.gather(*(create(i) for i in range(OBJECTS)))


def _client(server: Server) -> Client:
    config = ClusterConfig(
        server=server.https_url,
        token=server.token,
        ca_data=Path(server.ca_file).read_bytes(),
        namespace="informer",
    )
    return Client.from_config(config)


async def _informer_mb(server: Server) -> float:
    async with _client(server) as client:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        informer = Informer(client, CONFIGMAPS, namespace="informer")
        await informer.relist()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert len(informer.indexer.list()) == OBJECTS
        return held / 1e6


async def _reconciles_per_second(server: Server) -> float:
    async with _client(server) as client:
        informer = Informer(client, CONFIGMAPS, namespace="informer")
        controller = Controller("bench", informer, workers=2)
        done = asyncio.Event()
        seen: set[str] = set()

        async def touch(key: str, obj: dict[str, Any] | None) -> None:
            seen.add(key)
            if len(seen) == OBJECTS:
                done.set()

        controller.on_change("touch", touch)
        start = time.perf_counter()
        tasks = [asyncio.create_task(informer.run()), asyncio.create_task(controller.run())]
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - start
        await controller.stop()
        await informer.stop()
        for task in tasks:
            task.cancel()
        return OBJECTS / elapsed


def run(report: Run) -> None:
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=scratch) as tmp,
        running_server(Path(tmp), cpu=SERVER_CPU, args=("--simulate-nodes", str(NODES))) as server,
    ):
        seconds = uvloop.run(_deployments_available(server))
        report.add(
            Figure(
                f"{DEPLOYMENTS:,} deployments x {REPLICAS} replicas Available "
                f"on {NODES} simulated nodes",
                "s",
                [seconds],
                at_most=60,
            )
        )
        report.add(Figure("server RSS after the rollout", "MB", [server.memory_mb()]))
        uvloop.run(_namespace(server, "create"))
        creates = [run_wrk(server, "create.lua", 16, {"BENCH_NS": "create"}) for _ in range(3)]
        report.add(
            Figure(
                "creates/s of 1 KiB ConfigMaps, 16 clients, every controller running",
                "creates/s",
                [r["rate"] for r in creates],
            )
        )
    with (
        tempfile.TemporaryDirectory(dir=scratch) as tmp,
        running_server(Path(tmp), cpu=SERVER_CPU, args=("--controllers", "-*")) as server,
    ):
        uvloop.run(_seed_configmaps(server))
        memory = [uvloop.run(_informer_mb(server)) for _ in range(3)]
        report.add(Figure(f"informer cache for {OBJECTS:,} ConfigMaps", "MB", memory))
        rates = [uvloop.run(_reconciles_per_second(server)) for _ in range(3)]
        report.add(Figure("reconciles/s, one trivial handler, 2 workers", "keys/s", rates))
    print(
        f"  rollout median of 1 round; informer/reconcile medians of 3 "
        f"(informer spread {statistics.pstdev(memory):.1f} MB)",
        flush=True,
    )

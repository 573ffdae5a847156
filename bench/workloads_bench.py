"""Issue 5's figures: endpoints follow readiness, CronJobs fire on time — at scale.

- Endpoints update latency: with 1,000 Services (one pod each), the time from
  a pod's ``Ready`` condition turning True (written through ``pods/status``,
  as a kubelet does) to that pod's address appearing as ready in its
  Service's Endpoints, seen by a watch. Sampled over pods made ready one at
  a time; the server runs only the endpoints and endpointslice controllers.
- CronJob scheduling accuracy: 1,000 CronJobs scheduled every minute; for
  the first minute boundary after they exist, how late each Job was created
  (its ``creationTimestamp`` minus the scheduled minute; the API server's
  timestamps have whole-second resolution, so figures are in seconds).

The load generator is httpx from the benchmark process, on the other core.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from bench.api_bench import SERVER_CPU
from bench.report import Figure, Run
from bench.server import Server, running_server

SERVICES = 1_000
SAMPLES = 50
CRONJOBS = 1_000
NS = "bench"


def _http(server: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.https_url,
        verify=server.ca_file,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=16),
    )


async def _gather_limited(calls: list[Any], limit: int = 16) -> None:
    sem = asyncio.Semaphore(limit)

    async def one(call: Any) -> None:
        async with sem:
            response = await call()
            response.raise_for_status()

    await asyncio.gather(*(one(c) for c in calls))


def _pod(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"p{i}", "labels": {"app": f"s{i}"}},
        "spec": {"nodeName": "bench-node", "containers": [{"name": "c", "image": "x"}]},
    }


def _service(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"s{i}"},
        "spec": {"selector": {"app": f"s{i}"}, "ports": [{"port": 80}]},
    }


def _status(i: int, ready: bool) -> dict[str, Any]:
    flag = "True" if ready else "False"
    return {
        "status": {
            "phase": "Running",
            "podIP": f"10.42.{i // 250}.{i % 250 + 1}",
            "conditions": [{"type": "Ready", "status": flag}],
        }
    }


async def _endpoint_latencies(server: Server) -> list[float]:
    base = f"/api/v1/namespaces/{NS}"
    async with _http(server) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        await _gather_limited(
            [lambda i=i: http.post(f"{base}/services", json=_service(i)) for i in range(SERVICES)]
        )
        await _gather_limited(
            [lambda i=i: http.post(f"{base}/pods", json=_pod(i)) for i in range(SERVICES)]
        )
        merge = {"Content-Type": "application/merge-patch+json"}
        await _gather_limited(
            [
                lambda i=i: http.patch(
                    f"{base}/pods/p{i}/status",
                    content=orjson.dumps(_status(i, False)),
                    headers=merge,
                )
                for i in range(SERVICES)
            ]
        )
        # Every Service has its Endpoints (with the not-ready address) before sampling.
        while True:
            listed = (await http.get(f"{base}/endpoints")).json()["items"]
            if sum(1 for e in listed if e.get("subsets")) == SERVICES:
                break
            await asyncio.sleep(0.5)
        version = (await http.get(f"{base}/endpoints")).json()["metadata"]["resourceVersion"]
        ready_at: dict[str, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()

        async def watch() -> None:
            params = {"watch": "1", "resourceVersion": version}
            async with http.stream("GET", f"{base}/endpoints", params=params) as stream:
                async for line in stream.aiter_lines():
                    event = orjson.loads(line)
                    name = event["object"]["metadata"]["name"]
                    subsets = event["object"].get("subsets") or []
                    if name in ready_at and any(s.get("addresses") for s in subsets):
                        latencies.append(time.perf_counter() - ready_at.pop(name))
                        if len(latencies) == SAMPLES:
                            done.set()
                            return

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.5)
        for i in range(0, SERVICES, SERVICES // SAMPLES):
            ready_at[f"s{i}"] = time.perf_counter()
            response = await http.patch(
                f"{base}/pods/p{i}/status", content=orjson.dumps(_status(i, True)), headers=merge
            )
            response.raise_for_status()
            await asyncio.sleep(0.1)
        await asyncio.wait_for(done.wait(), 120)
        watcher.cancel()
        return [s * 1000 for s in latencies]


def _cronjob(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": f"c{i}"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "x"}],
                        }
                    }
                }
            },
        },
    }


async def _cronjob_lateness(server: Server) -> list[float]:
    base = f"/apis/batch/v1/namespaces/{NS}"
    async with _http(server) as http:
        await http.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        await _gather_limited(
            [lambda i=i: http.post(f"{base}/cronjobs", json=_cronjob(i)) for i in range(CRONJOBS)]
        )
        now = dt.datetime.now(dt.UTC)
        boundary = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        if (boundary - now).total_seconds() < 5:  # too close: the creates may straddle it
            boundary += dt.timedelta(minutes=1)
        wake = boundary + dt.timedelta(seconds=20)
        await asyncio.sleep(max(0.0, (wake - dt.datetime.now(dt.UTC)).total_seconds()))
        jobs = (await http.get(f"{base}/jobs")).json()["items"]
        lateness = []
        for job in jobs:
            created = dt.datetime.fromisoformat(job["metadata"]["creationTimestamp"])
            scheduled = job["metadata"]["annotations"][
                "batch.kubernetes.io/cronjob-scheduled-timestamp"
            ]
            if dt.datetime.fromisoformat(scheduled) == boundary:
                lateness.append((created - boundary).total_seconds())
        if len(lateness) != CRONJOBS:
            raise RuntimeError(f"{len(lateness)} of {CRONJOBS} CronJobs fired at {boundary}")
        return lateness


def run(report: Run) -> None:
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=scratch) as tmp,
        running_server(
            Path(tmp), cpu=SERVER_CPU, args=("--controllers", "endpoints,endpointslice")
        ) as server,
    ):
        latencies = uvloop.run(_endpoint_latencies(server))
    report.add(Figure(f"Endpoints update latency p50, {SERVICES:,} services", "ms", latencies))
    p99 = statistics.quantiles(latencies, n=100)[98]
    report.add(Figure(f"Endpoints update latency p99, {SERVICES:,} services", "ms", [p99]))
    with (
        tempfile.TemporaryDirectory(dir=scratch) as tmp,
        running_server(Path(tmp), cpu=SERVER_CPU, args=("--controllers", "cronjob")) as server,
    ):
        lateness = uvloop.run(_cronjob_lateness(server))
    report.add(Figure(f"CronJob lateness median, {CRONJOBS:,} CronJobs", "s", lateness))
    report.add(Figure(f"CronJob lateness max, {CRONJOBS:,} CronJobs", "s", [max(lateness)]))
    print(
        f"  endpoints: {SAMPLES} pods made ready one at a time, watched; "
        "cronjobs: one minute boundary, creationTimestamp has 1 s resolution",
        flush=True,
    )

"""API server figures: GET latency and throughput, creates/s, big LISTs, watch fan-out.

The server runs as users run it (a subprocess, SQLite, TLS), pinned to core 0;
the load generators run on core 1: wrk (C, HTTP/1.1 keep-alive, its own
latency histogram) for GETs and creates, and an asyncio httpx client for the
LIST and the watchers. 100,000 small ConfigMaps are written into the
datastore before the server starts, in the form the API server stores them
(`corral.apiserver.store.encoding`), so the server loads them into its watch
cache exactly as after a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import uvloop

from bench.report import Figure, Run
from bench.server import Server, running_server
from corral.apiserver.store.encoding import encode_for_storage
from corral.storage import Backend, StorageOptions, open_backend

SEEDED = 100_000
LISTED = 10_000
WATCHERS = 1_000
WATCH_EVENTS = 100
WRK_SECONDS = 5
ROUNDS = 3
SERVER_CPU, LOAD_CPU = 0, 1
LUA = Path(__file__).parent / "lua"


def _configmap(namespace: str, name: str, created: str) -> bytes:
    return encode_for_storage(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": created,
            },
            "data": {"key": "v" * 100},
        }
    )


def _namespace(name: str, created: str) -> bytes:
    return encode_for_storage(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": created,
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
    )


async def _seed(url: str) -> None:
    """Namespaces bench (100,000 ConfigMaps), list10k (10,000), watch and create (empty)."""
    backend: Backend = open_backend(url, StorageOptions(compact_interval=0))
    await backend.start()
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for ns in ("bench", "list10k", "watch", "create"):
        await backend.create(f"/registry/core/namespaces/{ns}", _namespace(ns, created))
    for ns, count in (("bench", SEEDED - LISTED), ("list10k", LISTED)):
        for first in range(0, count, 2_000):
            await asyncio.gather(
                *(
                    backend.create(
                        f"/registry/core/configmaps/{ns}/cm-{i:06d}",
                        _configmap(ns, f"cm-{i:06d}", created),
                    )
                    for i in range(first, min(first + 2_000, count))
                )
            )
    await backend.close()


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"(\d+) requests in")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(server: Server, script: str, connections: int, env: dict[str, str]) -> dict[str, float]:
    """Run wrk on the load core; returns p50/p99 (ms), requests/s and failures."""
    cmd = [
        "taskset", "-c", str(LOAD_CPU),
        "wrk", "-t1", f"-c{connections}", f"-d{WRK_SECONDS}s", "--latency",
        "-H", f"Authorization: Bearer {server.token}",
        "-s", str(LUA / script), server.https_url,
    ]  # fmt: skip
    out = subprocess.run(
        cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True
    ).stdout
    figures = {f"p{q}": float(v) * _UNIT[u] for q, v, u in _LATENCY.findall(out)}
    figures["rate"] = float(_RATE.search(out).group(1))  # type: ignore[union-attr]
    non_2xx = _NON_2XX.search(out)
    figures["failed"] = float(non_2xx.group(1)) if non_2xx else 0.0
    figures["total"] = float(_TOTAL.search(out).group(1))  # type: ignore[union-attr]
    return figures


def _client(server: Server, **kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.https_url,
        verify=server.ca_file,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=120,
        **kwargs,  # type: ignore[arg-type]
    )


async def _list_seconds(server: Server) -> float:
    async with _client(server) as client:
        start = time.perf_counter()
        resp = await client.get("/api/v1/namespaces/list10k/configmaps")
        elapsed = time.perf_counter() - start
        resp.raise_for_status()
        assert len(resp.json()["items"]) == LISTED
        return elapsed


async def _watch_rate(server: Server) -> float:
    """Events/s delivered in total to WATCHERS watchers of one namespace."""
    limits = httpx.Limits(max_connections=WATCHERS + 10, max_keepalive_connections=WATCHERS + 10)
    async with _client(server, limits=limits) as client:
        listed = await client.get("/api/v1/namespaces/watch/configmaps")
        rv = listed.json()["metadata"]["resourceVersion"]
        opened = 0
        all_open = asyncio.Event()
        received = 0

        async def watcher() -> None:
            nonlocal opened, received
            params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "120"}
            async with client.stream(
                "GET", "/api/v1/namespaces/watch/configmaps", params=params
            ) as resp:
                opened += 1
                if opened == WATCHERS:
                    all_open.set()
                seen = 0
                async for line in resp.aiter_lines():
                    if line:
                        seen += 1
                        received += 1
                        if seen == WATCH_EVENTS:
                            return

        tasks = [asyncio.create_task(watcher()) for _ in range(WATCHERS)]
        await asyncio.wait_for(all_open.wait(), 120)
        start = time.perf_counter()
        async with _client(server) as writer:
            for i in range(WATCH_EVENTS):
                body = {"metadata": {"name": f"w-{i}"}, "data": {"k": "v"}}
                (
                    await writer.post("/api/v1/namespaces/watch/configmaps", json=body)
                ).raise_for_status()
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
        return received / (time.perf_counter() - start)


#: ``--datastore URL`` given to ``python -m bench``: the API suite runs on it
#: (seeded first; it must be empty) instead of a fresh SQLite file.
DATASTORE: str | None = None


def run(report: Run) -> None:
    """Seed, start the server on core 0, and measure from core 1."""
    measure(report, DATASTORE)


def measure(report: Run, datastore: str | None) -> None:
    """The API figures, on ``datastore`` (None: a fresh SQLite file)."""
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        data = Path(tmp)
        url = datastore or f"sqlite://{data / 'state.db'}"
        uvloop.run(_seed(url))
        args = ("--controllers", "-*", "--datastore", url)
        with running_server(data, cpu=SERVER_CPU, args=args) as server:
            time.sleep(1.0)
            report.add(
                Figure(
                    f"RSS with {SEEDED:,} ConfigMaps loaded",
                    "MB",
                    [server.memory_mb()],
                    at_most=600,
                )
            )
            env = {"BENCH_NS": "bench", "BENCH_COUNT": str(SEEDED - LISTED)}
            for conns in (1, 16, 64):
                runs = [run_wrk(server, "get.lua", conns, env) for _ in range(ROUNDS)]
                report.add(Figure(f"GET p50, {conns} clients", "ms", [r["p50"] for r in runs]))
                p99 = Figure(f"GET p99, {conns} clients", "ms", [r["p99"] for r in runs])
                if conns == 64:
                    p99.at_most = 15
                report.add(p99)
                report.add(
                    Figure(f"GET throughput, {conns} clients", "req/s", [r["rate"] for r in runs])
                )
                assert all(r["failed"] == 0 for r in runs), "GETs failed"
            creates = [
                run_wrk(server, "create.lua", 16, {"BENCH_NS": "create"}) for _ in range(ROUNDS)
            ]
            assert all(r["failed"] == 0 for r in creates), "creates failed"
            report.add(
                Figure(
                    "creates/s of 1 KiB ConfigMaps, 16 clients",
                    "creates/s",
                    [r["rate"] for r in creates],
                    at_least=2_000,
                )
            )
            lists = [uvloop.run(_list_seconds(server)) * 1000 for _ in range(ROUNDS + 2)]
            report.add(Figure(f"LIST of {LISTED:,} ConfigMaps", "ms", lists, at_most=250))
            report.add(Figure("peak RSS after the LISTs", "MB", [server.memory_mb("VmHWM")]))
            rates = [uvloop.run(_watch_rate(server))]
            report.add(Figure(f"watch delivery to {WATCHERS:,} watchers", "events/s", rates))
    print(
        "  load generator: wrk 4.1 (GET, POST) and httpx (LIST, watch), pinned to core 1;"
        " the API server alone (--controllers -*: the kube suite measures with controllers)",
        flush=True,
    )

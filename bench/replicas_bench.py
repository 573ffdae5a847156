"""Several replicas on one datastore: `python -m bench replicas`.

For each shared datastore present (PostgreSQL, etcd; started the way the
tests start them, tests/pgserver.py and tests/etcdserver.py), three real
``corral server`` replicas with controllers under short leases (duration
4 s, renew deadline 3 s, retry period 0.5 s, as the tests use), and:

- cross-replica watch latency: a ConfigMap create sent to replica A until
  its ADDED event arrives on a watch held on replica B (the write's own
  round trip included), p50 and p99 over `WRITES` sequential writes;
- failover time: ``kill -9`` of the controller-manager leader until a
  surviving replica holds the Lease (read through a survivor every 20 ms),
  over `FAILOVERS` rounds; the killed replica is started again between
  rounds. The bound is lease duration + 2 x retry period = 5 s.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.report import Figure, Run

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from replicas.replicaset import (
    leader_of,
    lease_holder,
    replica_args,
    start_replicas,
)
from serverproc import CorralServer, start_server

WRITES = 300
FAILOVERS = 5
BOUND = 4.0 + 2 * 0.5


@contextmanager
def _datastore(driver: str) -> Iterator[str | None]:
    """The URL of a fresh datastore of ``driver``, or None if it is not available."""
    try:
        helper: Any = importlib.import_module("pgserver" if driver == "postgres" else "etcdserver")
    except ImportError:
        yield None
        return
    if driver == "postgres":
        if helper.postgres_bin() is None:
            yield None
            return
        with helper.started_postgres() as pg:
            yield pg.url(pg.create_database())
    else:
        with helper.running_etcd() as etcd:
            yield etcd.url(helper.unique_root())


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _watch_latency(a: CorralServer, b: CorralServer) -> list[float]:
    """Seconds from sending each create to A until B's watch delivers it."""
    token = a.token
    path = "/api/v1/namespaces/default/configmaps"
    with b.client(token) as c:
        rv = c.get(path).json()["metadata"]["resourceVersion"]
    arrived: dict[str, float] = {}
    ready = threading.Event()

    def watch() -> None:
        with (
            b.client(token) as c,
            c.stream(
                "GET",
                path,
                params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "300"},
                timeout=httpx.Timeout(10, read=300),
            ) as response,
        ):
            ready.set()
            for line in response.iter_lines():
                if line:
                    name = orjson.loads(line)["object"]["metadata"]["name"]
                    arrived[name] = time.perf_counter()
                    if name == f"lat-{WRITES - 1}":
                        return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(10)
    sent: dict[str, float] = {}
    with a.client(token) as c:
        for i in range(WRITES):
            name = f"lat-{i}"
            sent[name] = time.perf_counter()
            response = c.post(path, json={"metadata": {"name": name}, "data": {"i": str(i)}})
            response.raise_for_status()
    thread.join(60)
    return [arrived[n] - sent[n] for n in sent]


def _failover(servers: list[CorralServer], root: Path, url: str) -> float:
    """Kill -9 the leader; seconds until a survivor holds the Lease. Restarts the victim."""
    token = servers[0].token
    deadline = time.monotonic() + 30
    while True:
        holder = lease_holder(servers[0], token)
        leader = leader_of(servers, holder)
        if leader is not None:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("no leader")
        time.sleep(0.05)
    survivors = [s for s in servers if s is not leader]
    leader.proc.kill()
    killed = time.perf_counter()
    leader.proc.wait()
    while True:
        now_holder = lease_holder(survivors[0], token)
        if now_holder != holder and leader_of(survivors, now_holder) is not None:
            took = time.perf_counter() - killed
            break
        if time.perf_counter() - killed > 60:
            raise RuntimeError("no failover")
        time.sleep(0.02)
    servers[servers.index(leader)] = start_server(leader.data_dir, replica_args(root, url))
    return took


def _driver(report: Run, driver: str) -> None:
    with _datastore(driver) as url:
        if url is None:
            report.notes.append(f"{driver}: driver or server not present, not measured")
            print(f"  {driver}: not present", flush=True)
            return
        with tempfile.TemporaryDirectory(prefix="corral-replicas-") as tmp:
            root = Path(tmp)
            with start_replicas(root, url) as servers:
                latencies = [s * 1000 for s in _watch_latency(servers[0], servers[1])]
                report.add(
                    Figure(
                        f"{driver}: write on A -> event on B, p50",
                        "ms",
                        [statistics.median(latencies)],
                    )
                )
                report.add(
                    Figure(
                        f"{driver}: write on A -> event on B, p99",
                        "ms",
                        [_percentile(latencies, 0.99)],
                    )
                )
                rounds = [_failover(servers, root, url) for _ in range(FAILOVERS)]
                report.add(
                    Figure(
                        f"{driver}: failover after kill -9 of the leader",
                        "s",
                        rounds,
                        at_most=BOUND,
                    )
                )


def run(report: Run) -> None:
    report.notes.append(
        "three replicas, controllers on (namespace), leases 4 s / 3 s / 0.5 s; "
        f"{WRITES} sequential writes for the latency, {FAILOVERS} failover rounds"
    )
    for driver in ("postgres", "etcd"):
        _driver(report, driver)

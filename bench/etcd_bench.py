"""etcd figures beside SQLite's, in one run: storage writes/s, then the API suite on etcd.

A throwaway etcd (Debian's ``etcd-server``) is started for the run in the
scratch directory, with its default (production) heartbeat and election
settings and its default fsync behaviour. Writes are 1 KiB creates with 1 and
16 concurrent writers, each round on a fresh SQLite file and a fresh etcd key
root, the two drivers interleaved so that machine noise hits both alike. Then
the API suite (`bench.api_bench`) runs with ``--datastore etcd://…``. etcd is
not pinned: it shares both cores with the server and the load generator.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import uvloop

from bench import api_bench
from bench.report import Figure, Run
from bench.server import free_port
from bench.storage_bench import OPTIONS, VALUE, WRITE_SECONDS, _scratch
from corral.storage import Backend, open_backend

ROUNDS = 5


@contextmanager
def running_etcd() -> Iterator[str]:
    """A fresh single-member etcd; yields its client endpoint ``host:port``."""
    etcd = shutil.which("etcd")
    if etcd is None:
        raise SystemExit("bench: etcd not found (Debian package etcd-server)")
    client, peer = free_port(), free_port()
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        proc = subprocess.Popen(
            [
                etcd,
                "--name=bench",
                f"--data-dir={tmp}/member",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=bench=http://127.0.0.1:{peer}",
                "--log-level=error",
                "--quota-backend-bytes=8589934592",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not _healthy(client):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("bench: etcd did not start")
                time.sleep(0.05)
            yield f"127.0.0.1:{client}"
        finally:
            proc.terminate()
            proc.wait(30)


def _healthy(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/health"
        with urllib.request.urlopen(url, timeout=1) as resp:
            return b'"true"' in resp.read()
    except OSError:
        return False


async def write_rate(url: str, writers: int) -> float:
    """Acknowledged creates per second with ``writers`` concurrent writers."""
    backend: Backend = open_backend(url, OPTIONS)
    await backend.start()
    done = 0
    deadline = time.perf_counter() + WRITE_SECONDS

    async def writer(w: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            await backend.create(f"/bench/w{w}/{i:08d}", VALUE)
            i += 1
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - start
    await backend.close()
    return done / elapsed


def _sqlite_rate(writers: int) -> float:
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        return uvloop.run(write_rate(f"sqlite://{tmp}/state.db", writers))


def run(report: Run) -> None:
    """Storage writes/s on etcd and SQLite (interleaved), then the API suite on etcd."""
    with running_etcd() as endpoint:
        rates: dict[tuple[str, int], list[float]] = {}
        for _ in range(ROUNDS):
            for writers in (1, 16):
                url = f"etcd://{endpoint}/bench-{uuid.uuid4().hex}"
                rates.setdefault(("etcd", writers), []).append(uvloop.run(write_rate(url, writers)))
                rates.setdefault(("sqlite", writers), []).append(_sqlite_rate(writers))
        for driver in ("sqlite", "etcd"):
            for writers in (1, 16):
                report.add(
                    Figure(
                        f"{driver} creates/s, {writers} writer{'s' if writers > 1 else ''}, 1 KiB",
                        "writes/s",
                        rates[driver, writers],
                    )
                )
        ratios = [e / s for e, s in zip(rates["etcd", 16], rates["sqlite", 16], strict=True)]
        report.add(Figure("etcd / sqlite, 16 writers (per round)", "x", ratios))
        report.notes.append(
            "etcd 3.4 (Debian etcd-server), one member on loopback, default heartbeat, "
            "election and fsync settings, not pinned; sqlite with synchronous=FULL."
        )
        api_bench.measure(report, f"etcd://{endpoint}/corral")
        report.notes.append(
            "API figures: `python -m bench api --datastore etcd://…` (server on core 0, "
            "wrk/httpx on core 1, etcd on either)."
        )

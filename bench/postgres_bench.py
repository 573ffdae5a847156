"""PostgreSQL beside SQLite, in one run: `python -m bench postgres`.

Figures, each the median of its rounds, taken interleaved so that machine
noise hits both datastores alike, and the PostgreSQL/SQLite ratio of each:

- Backend creates/s of 1 KiB values with 16 concurrent writers (and with 1),
  on a fresh datastore per round (`storage_bench.write_rate`);
- the API server (a `corral server` subprocess pinned to core 0, wrk on core
  1, as in `api_bench`): GET p50/p99 and throughput with 16 clients, creates/s
  with 16 clients, and a LIST of 10,000 ConfigMaps, with 100,000 ConfigMaps
  seeded, once with ``--datastore sqlite://…`` and once with
  ``--datastore postgres://…``.

PostgreSQL is a throwaway server started the way the tests start it
(tests/pgserver.py: Debian's package, initdb into a temporary directory,
fsync on, synchronous_commit on), on the same machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvloop

from bench import api_bench, storage_bench
from bench.report import Figure, Run
from bench.server import Server, running_server

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from pgserver import PostgresServer, started_postgres

ROUNDS = 5
API_ROUNDS = 3


def _storage(report: Run, pg: PostgresServer) -> None:
    rates: dict[tuple[str, int], list[float]] = {}
    for _ in range(ROUNDS):
        for writers in (16, 1):
            rates.setdefault(("sqlite", writers), []).append(
                uvloop.run(storage_bench.write_rate(writers))
            )
            url = pg.url(pg.create_database())
            rates.setdefault(("postgres", writers), []).append(
                uvloop.run(storage_bench.write_rate(writers, url))
            )
    for writers in (16, 1):
        label = f"{writers} writer{'s' if writers > 1 else ''}"
        sqlite, postgres = rates["sqlite", writers], rates["postgres", writers]
        report.add(Figure(f"Backend creates/s, {label}, sqlite", "writes/s", sqlite))
        report.add(Figure(f"Backend creates/s, {label}, postgres", "writes/s", postgres))
        ratios = [p / s for p, s in zip(postgres, sqlite, strict=True)]
        report.add(Figure(f"postgres / sqlite, Backend creates, {label}", "x", ratios))


@contextmanager
def _api_server(datastore: str | None) -> Iterator[Server]:
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        data = Path(tmp)
        uvloop.run(api_bench._seed(datastore or f"sqlite://{data / 'state.db'}"))
        args: tuple[str, ...] = ("--controllers", "-*")
        if datastore is not None:
            args += ("--datastore", datastore)
        with running_server(data, cpu=api_bench.SERVER_CPU, args=args) as server:
            time.sleep(1.0)
            yield server


def _api(report: Run, name: str, datastore: str | None) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    with _api_server(datastore) as server:
        env = {"BENCH_NS": "bench", "BENCH_COUNT": str(api_bench.SEEDED - api_bench.LISTED)}
        gets = [api_bench.run_wrk(server, "get.lua", 16, env) for _ in range(API_ROUNDS)]
        assert all(r["failed"] == 0 for r in gets), "GETs failed"
        creates = [
            api_bench.run_wrk(server, "create.lua", 16, {"BENCH_NS": "create"})
            for _ in range(API_ROUNDS)
        ]
        assert all(r["failed"] == 0 for r in creates), "creates failed"
        lists = [uvloop.run(api_bench._list_seconds(server)) * 1000 for _ in range(API_ROUNDS + 2)]
        figures = {
            "GET p50, 16 clients (ms)": [r["p50"] for r in gets],
            "GET p99, 16 clients (ms)": [r["p99"] for r in gets],
            "GET throughput, 16 clients (req/s)": [r["rate"] for r in gets],
            "creates/s of 1 KiB ConfigMaps, 16 clients": [r["rate"] for r in creates],
            f"LIST of {api_bench.LISTED:,} ConfigMaps (ms)": lists,
        }
    for title, rounds in figures.items():
        report.add(Figure(f"API {title}, {name}", "", rounds))
    return figures


def run(report: Run) -> None:
    """Both datastores, side by side, in one run."""
    with started_postgres() as pg:
        _storage(report, pg)
        sqlite = _api(report, "sqlite", None)
        postgres = _api(report, "postgres", pg.url(pg.create_database()))
    for title in sqlite:
        ratio = Figure(f"API {title}: postgres / sqlite (medians)", "x", [0.0])
        ratio.rounds = [
            Figure("", "", postgres[title]).median / Figure("", "", sqlite[title]).median
        ]
        report.add(ratio)
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    report.notes.append(f"uname -a: {uname}; nproc: {os.cpu_count()}")
    report.notes.append(
        "PostgreSQL 15 (Debian), a throwaway cluster on this machine (tests/pgserver.py):"
        " fsync=on, synchronous_commit=on, shared_buffers=32MB, not pinned to a core;"
        " the API server is pinned to core 0 and wrk to core 1, as in the api suite"
    )

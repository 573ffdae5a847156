"""Server start-up figures: cold start to `/readyz`, and idle memory.

Each round starts the real `corral server` as a subprocess on free loopback
ports and polls the plain-HTTP `/readyz` until it answers 200; the time counts
from just before the process is spawned (interpreter start-up included).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from bench.report import Figure, Run
from bench.server import running_server
from corral.storage import StorageOptions, open_backend

ROUNDS = 5
LOADED_KEYS = 100_000


def start_and_measure(data_dir: Path) -> tuple[float, float]:
    """Seconds from spawn to a 200 from /readyz, and idle RSS in MB one second later."""
    with running_server(data_dir) as server:
        time.sleep(1.0)
        return server.ready_seconds, server.memory_mb()


async def _load(path: Path, keys: int) -> None:
    backend = open_backend(f"sqlite://{path}", StorageOptions(compact_interval=0))
    await backend.start()
    # Stored as the API server stores objects (docs/apiserver.md): one prefix per resource.
    value = (
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"default"},'
        b'"data":{"k":"' + b"v" * 200 + b'"}}'
    )
    batch = 2_000
    for first in range(0, keys, batch):
        await asyncio.gather(
            *(
                backend.create(f"/registry/core/configmaps/default/cm-{i:06d}", value)
                for i in range(first, min(first + batch, keys))
            )
        )
    await backend.close()


def run(report: Run) -> None:
    """Cold start on an empty data dir and on one holding 100,000 keys; idle RSS."""
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    empty: list[float] = []
    rss: list[float] = []
    loaded: list[float] = []
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        seeded = Path(tmp) / "seeded"
        seeded.mkdir()
        asyncio.run(_load(seeded / "state.db", LOADED_KEYS))
        for i in range(ROUNDS):
            fresh = Path(tmp) / f"empty-{i}"
            seconds, mb = start_and_measure(fresh)
            shutil.rmtree(fresh)
            empty.append(seconds)
            rss.append(mb)
            loaded.append(start_and_measure(seeded)[0])
    report.add(Figure("cold start to /readyz, empty data dir", "s", empty, at_most=1.0))
    report.add(Figure(f"cold start to /readyz, {LOADED_KEYS:,} keys", "s", loaded, at_most=2.5))
    report.add(Figure("idle RSS of the server", "MB", rss, at_most=150))

"""Storage figures: SQLite write and read rates, and watch fan-out.

Writes are 1 KiB values under `synchronous=FULL`, measured with 1 and with 16
concurrent writer coroutines on a fresh file. The 16:1 ratio is what shows
group commit working: one writer pays a full fsync per write, sixteen share it.
Coroutines run on uvloop, the event loop `corral server` runs on.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from bench.report import Figure, Run
from corral.storage import Backend, StorageOptions, open_backend

VALUE = os.urandom(512).hex().encode()  # 1 KiB
ROUNDS = 5
WRITERS = 16
WRITE_SECONDS = 2.0
OPTIONS = StorageOptions(compact_interval=0)


async def _open(path: Path) -> Backend:
    backend = open_backend(f"sqlite://{path}", OPTIONS)
    await backend.start()
    return backend


async def write_rate(writers: int, datastore: str | None = None) -> float:
    """Acknowledged creates per second with ``writers`` concurrent writers.

    On a fresh SQLite file, or on ``datastore`` (the URL of a fresh datastore).
    """
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        if datastore is None:
            backend = await _open(Path(tmp) / "state.db")
        else:
            backend = open_backend(datastore, OPTIONS)
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


async def read_rate(readers: int, keys: int = 10_000) -> float:
    """GETs per second of random existing keys with ``readers`` concurrent readers."""
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        backend = await _open(Path(tmp) / "state.db")
        await asyncio.gather(*(backend.create(f"/bench/r/{i:08d}", VALUE) for i in range(keys)))
        done = 0
        deadline = time.perf_counter() + WRITE_SECONDS

        async def reader(seed: int) -> None:
            nonlocal done
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                kv = await backend.get(f"/bench/r/{rng.randrange(keys):08d}")
                assert kv is not None
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(reader(r) for r in range(readers)))
        elapsed = time.perf_counter() - start
        await backend.close()
        return done / elapsed


async def _write_fanout(backend: Backend, writer: int, events: int) -> None:
    for i in range(writer, events, WRITERS):
        await backend.create(f"/bench/f/{i:06d}", b"x" * 64)


async def fanout_rate(subscribers: int = 1000, events: int = 2000) -> float:
    """Events per second delivered in total to ``subscribers`` watchers of one prefix.

    The events come from 16 concurrent writers, so in many small commits.
    """
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        backend = await _open(Path(tmp) / "state.db")
        start_rev = await backend.current_revision()
        received = 0
        ready = 0
        all_ready = asyncio.Event()

        async def subscriber() -> None:
            nonlocal received, ready
            stream = backend.watch("/bench/f/", revision=start_rev)
            ready += 1
            if ready == subscribers:
                all_ready.set()
            seen = 0
            async for _ in stream:
                seen += 1
                received += 1
                if seen == events:
                    return

        tasks = [asyncio.create_task(subscriber()) for _ in range(subscribers)]
        await all_ready.wait()
        start = time.perf_counter()
        await asyncio.gather(*(_write_fanout(backend, w, events) for w in range(WRITERS)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        await backend.close()
        return received / elapsed


T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(coroutine)


def _scratch() -> str:
    path = Path(__file__).parent / ".work"
    path.mkdir(exist_ok=True)
    return str(path)


def run(report: Run) -> None:
    """Measure every storage figure, ROUNDS times each, interleaved."""
    one: list[float] = []
    sixteen: list[float] = []
    reads: list[float] = []
    fanout: list[float] = []
    for _ in range(ROUNDS):
        one.append(_run(write_rate(1)))
        sixteen.append(_run(write_rate(16)))
        reads.append(_run(read_rate(16)))
        fanout.append(_run(fanout_rate()))
    report.add(Figure("sqlite creates/s, 1 writer, 1 KiB", "writes/s", one))
    report.add(Figure("sqlite creates/s, 16 writers, 1 KiB", "writes/s", sixteen, at_least=15_000))
    ratios = [s / o for s, o in zip(sixteen, one, strict=True)]
    report.add(Figure("16-writer / 1-writer ratio (per round)", "x", ratios, at_least=3))
    report.add(Figure("sqlite gets/s, 16 readers", "reads/s", reads))
    report.add(Figure("watch fan-out to 1,000 subscribers", "events/s delivered", fanout))

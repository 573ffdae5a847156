"""Server start-up figures: cold start to `/readyz`, and idle memory.

Each round starts the real `corral server` as a subprocess on free loopback
ports and polls the plain-HTTP `/readyz` until it answers 200; the time counts
from just before the process is spawned (interpreter start-up included).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.report import Figure, Run
from corral.storage import StorageOptions, open_backend

ROUNDS = 5
LOADED_KEYS = 100_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _corral() -> str:
    return str(Path(sys.executable).with_name("corral"))


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (loopback http)
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_and_measure(data_dir: Path) -> tuple[float, float]:
    """Seconds from spawn to a 200 from /readyz, and idle RSS in MB one second later."""
    https_port, http_port = _free_port(), _free_port()
    cmd = [
        _corral(),
        "server",
        "--data-dir",
        str(data_dir),
        "--bind-address",
        "127.0.0.1",
        "--https-port",
        str(https_port),
        "--http-port",
        str(http_port),
        "--log-level",
        "warning",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{http_port}/readyz"
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"corral server exited with {proc.returncode}")
            if _answers_ok(url):
                break
            time.sleep(0.005)
        ready = time.perf_counter() - start
        time.sleep(1.0)
        rss_kib = 0
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
        return ready, rss_kib / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _load(path: Path, keys: int) -> None:
    backend = open_backend(f"sqlite://{path}", StorageOptions(compact_interval=0))
    await backend.start()
    value = b'{"apiVersion":"v1","kind":"ConfigMap","data":{"k":"' + b"v" * 200 + b'"}}'
    batch = 2_000
    for first in range(0, keys, batch):
        await asyncio.gather(
            *(
                backend.create(f"/registry/configmaps/default/cm-{i:06d}", value)
                for i in range(first, min(first + batch, keys))
            )
        )
    await backend.close()


def run(report: Run) -> None:
    """Cold start on an empty data dir and on one holding 100,000 keys; idle RSS."""
    _env_check()
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


def _env_check() -> None:
    if not os.path.exists(_corral()):
        raise SystemExit("bench: run through `make bench` so that corral is installed")

"""A real `corral server` for benchmarks: spawned, waited for, measured, stopped.

Benchmarks run the server exactly as users do, as a subprocess, optionally
pinned to one core (`taskset`) so that a load generator can have the other.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

READY_DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def corral_executable() -> str:
    path = Path(sys.executable).with_name("corral")
    if not path.exists():
        raise SystemExit("bench: run through `make bench` so that corral is installed")
    return str(path)


def answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (loopback http)
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    """A running server: where it listens, how to authenticate, its process."""

    proc: subprocess.Popen[bytes]
    https_url: str
    data_dir: Path
    ready_seconds: float

    @property
    def token(self) -> str:
        config = yaml.safe_load((self.data_dir / "admin.kubeconfig").read_text())
        token: str = config["users"][0]["user"]["token"]
        return token

    @property
    def ca_file(self) -> str:
        return str(self.data_dir / "tls" / "ca.crt")

    def memory_mb(self, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} for pid {self.proc.pid}")


@contextmanager
def running_server(
    data_dir: Path, *, cpu: int | None = None, args: tuple[str, ...] = ()
) -> Iterator[Server]:
    """Start a server on free loopback ports; yield it once /readyz answers 200."""
    https_port, http_port = free_port(), free_port()
    cmd = [
        corral_executable(),
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
        *args,
    ]
    if cpu is not None and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{http_port}/readyz"
        while not answers_ok(url):
            if proc.poll() is not None:
                raise RuntimeError(f"corral server exited with {proc.returncode}")
            if time.perf_counter() - start > READY_DEADLINE:
                raise RuntimeError("corral server did not become ready")
            time.sleep(0.005)
        ready = time.perf_counter() - start
        yield Server(proc, f"https://127.0.0.1:{https_port}", data_dir, ready)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

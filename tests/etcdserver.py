"""A throwaway etcd for the tests: Debian's ``etcd`` on free loopback ports.

`EtcdServer` starts one member in a temporary data directory with short
heartbeat and election timings (it elects itself in about 0.1 s), waits until
it answers ``/health`` (a deadline, no fixed sleep), and on `stop` terminates
it and removes the directory. `etcd_session` is the session-wide server most
tests share; each test then writes under its own key root (`unique_root`), so
tests never see each other's keys. The storage contract suite needs a log of
its own (it checks that a fresh log starts at revision 0), so it starts a
fresh server per test (`fresh_etcd_url`), which costs about 0.2 s.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from serverproc import free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
READY_DEADLINE = 15.0


class EtcdServer:
    """One etcd member, started and stopped by the tests."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.client_port = free_port()
        self.peer_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def url(self, root: str = "") -> str:
        """The datastore URL of this server (under ``root`` if given)."""
        return f"etcd://{self.endpoint}{root}"

    def start(self) -> None:
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = (self.data_dir / "etcd.log").open("wb")
        self.process = subprocess.Popen(
            [
                ETCD,
                "--name=test",
                f"--data-dir={self.data_dir / 'member'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=test={peer}",
                "--heartbeat-interval=10",
                "--election-timeout=100",
                "--log-level=error",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + READY_DEADLINE
        while not self._healthy():
            if self.process.poll() is not None:
                output = (self.data_dir / "etcd.log").read_text(errors="replace")
                raise RuntimeError(f"etcd exited with {self.process.returncode}:\n{output}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"etcd not healthy within {READY_DEADLINE}s")
            time.sleep(0.02)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.client_port}/health", timeout=1
            ) as response:
                return b'"true"' in response.read()
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@contextlib.contextmanager
def running_etcd() -> Iterator[EtcdServer]:
    """A started etcd in a fresh temporary directory, stopped and removed after."""
    with tempfile.TemporaryDirectory(prefix="corral-etcd-") as tmp:
        server = EtcdServer(Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


def unique_root() -> str:
    """A key root no other test uses (fixed width: no root is a prefix of another)."""
    return f"/test-{uuid.uuid4().hex}"


_fresh: list[EtcdServer] = []


def fresh_etcd_url(tmp: Path) -> str:
    """Start a new etcd in ``tmp``; `stop_fresh` stops it after the test."""
    directory = Path(tempfile.mkdtemp(prefix="etcd-", dir=tmp))
    server = EtcdServer(directory)
    server.start()
    _fresh.append(server)
    return server.url()


def stop_fresh() -> None:
    """Stop every server `fresh_etcd_url` started."""
    while _fresh:
        _fresh.pop().stop()


@pytest.fixture(scope="session")
def etcd_session() -> Iterator[EtcdServer]:
    """The etcd shared by the session (use a `unique_root` per test)."""
    with running_etcd() as server:
        yield server

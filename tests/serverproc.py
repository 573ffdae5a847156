"""Running a real ``corral server`` in a subprocess, for the server-level tests.

A test module that needs a live server starts one (module-scoped) with
`running_server`: it picks free loopback ports, starts ``python -m
corral.cli.main server`` with a fresh data directory, polls ``/readyz`` on
the plain-HTTP port until it answers 200 (with a deadline, no fixed sleeps),
and on exit sends SIGTERM and checks for a clean exit 0. Built-in
controllers are off unless the test asks for them. `run_corral` runs a
command that is expected to end by itself (a failing start, ``--version``).
`controller_args` asks for controllers under leader election with short
leases, and `module_server` makes the usual module-scoped ``server`` fixture.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

READY_DEADLINE = 20.0
STOP_DEADLINE = 20.0
SHORT_LEASES = (
    "--leader-elect-lease-duration",
    "4s",
    "--leader-elect-renew-deadline",
    "3s",
    "--leader-elect-retry-period",
    "500ms",
)


def controller_args(controllers: str, *extra: str) -> tuple[str, ...]:
    """``--controllers controllers`` (then ``extra``) with short leader-election leases."""
    return ("--controllers", controllers, *extra, *SHORT_LEASES)


def free_port() -> int:
    """A TCP port nothing listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def corral_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "corral.cli.main", *args]


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env.update(extra or {})
    return env


def _server_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """A server's environment: no built-in controllers unless the test asks
    (``--controllers`` or ``CORRAL_CONTROLLERS``), so API tests see only
    their own objects."""
    return _env({"CORRAL_CONTROLLERS": "-*", **(extra or {})})


def run_corral(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run ``corral <args>`` to completion and capture its output."""
    return subprocess.run(
        corral_argv(*args), capture_output=True, text=True, env=_env(env), timeout=timeout
    )


@dataclass
class CorralServer:
    """A running server and what a test needs to talk to it."""

    proc: subprocess.Popen[bytes]
    https_url: str
    http_url: str
    data_dir: Path
    ca_path: Path
    token: str
    stderr_path: Path

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTPS client trusting only the server's CA, with ``token`` if given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            base_url=self.https_url, verify=self.ssl_context(), headers=headers, timeout=10
        )

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def kubeconfig_token(path: Path) -> str:
    doc: Any = yaml.safe_load(path.read_text())
    token: str = doc["users"][0]["user"]["token"]
    return token


def start_server(
    data_dir: Path,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    ports: tuple[int, int] | None = None,
) -> CorralServer:
    """Start a server and wait until ``/readyz`` answers 200.

    ``ports`` (HTTPS, HTTP) are free ones unless given: a test that restarts a
    server at the same address chooses them up front.
    """
    https_port, http_port = ports or (free_port(), free_port())
    log_path = log_path or data_dir.with_name(data_dir.name + f".{https_port}.log")
    argv = corral_argv(
        "server",
        "--data-dir",
        str(data_dir),
        "--bind-address",
        "127.0.0.1",
        "--https-port",
        str(https_port),
        "--http-port",
        str(http_port),
        *extra_args,
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log, env=_server_env(env))
    http_url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + READY_DEADLINE
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"corral server exited with {proc.returncode}:\n{log_path.read_text()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{http_url}/readyz", timeout=1).status_code == 200:
                break
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"corral server not ready in time:\n{log_path.read_text()}")
        time.sleep(0.02)
    kubeconfig = data_dir / "admin.kubeconfig"
    return CorralServer(
        proc=proc,
        https_url=f"https://127.0.0.1:{https_port}",
        http_url=http_url,
        data_dir=data_dir,
        ca_path=data_dir / "tls" / "ca.crt",
        token=kubeconfig_token(kubeconfig),
        stderr_path=log_path,
    )


def stop_server(server: CorralServer, sig: int = signal.SIGTERM) -> int:
    """Signal the server and wait for it to exit; its exit status."""
    if server.proc.poll() is None:
        server.proc.send_signal(sig)
    try:
        return server.proc.wait(STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
        raise


@contextlib.contextmanager
def running_server(
    data_dir: Path, extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Iterator[CorralServer]:
    """A server for the duration of the block; it must then exit 0 on SIGTERM."""
    server = start_server(data_dir, extra_args, env)
    try:
        yield server
    finally:
        code = stop_server(server)
    assert code == 0, f"corral server exited with {code}:\n{server.stderr()}"


def module_server(
    name: str, extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Any:
    """A module-scoped ``server`` fixture: a server with a data directory named after ``name``."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
        with running_server(tmp_path_factory.mktemp(name) / "data", extra_args, env) as srv:
            yield srv

    return server

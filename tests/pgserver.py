"""A real, throwaway PostgreSQL server for the tests that need one.

Nothing is installed by hand: Debian's ``postgresql`` package
(scripts/system-packages.txt) provides the binaries in
``/usr/lib/postgresql/<version>/bin``. `PostgresServer` runs ``initdb`` into
a temporary directory and starts ``postgres`` on 127.0.0.1 and a free port,
with its unix socket in that directory. ``initdb`` and ``postgres`` refuse
to run as root, and the tests run as root here and in CI: then both run as
the unprivileged ``postgres`` user (``setpriv``), which owns the directory.

Logins over TCP need a password (scram-sha-256), so the URLs the tests use
carry one, as users' do. ``fsync`` stays on (durability is tested); start-up
is kept short by small settings.

`postgres_server` is the session fixture (one server for the whole run);
`fresh_database` makes a new database so that tests never see each other's
keys. A test that stops or kills the server makes its own `PostgresServer`.
Tests are skipped when PostgreSQL is not installed, except on CI (``CI`` set),
where a missing server is a failure: `make test` installs it.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "corral"
PASSWORD = "pg-test-Secret-7"
START_DEADLINE = 30.0
_databases = itertools.count()


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory; start, stop, kill, restart."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="corral-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)

    def _argv(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bindir / program), *args]
        if not self._as_postgres:
            return argv
        # setpriv execs the program itself (runuser would stay in between as
        # the parent and not pass on every signal), so signals reach postgres.
        return [
            "setpriv",
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--reset-env",
            "--",
            *argv,
        ]

    def init(self) -> None:
        """``initdb`` with a password-protected superuser ``corral``."""
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(
            self._argv(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                USER,
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        pwfile.unlink()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - handed to the child
        if self._as_postgres:
            shutil.chown(self.root / "postgres.log", "postgres", "postgres")
        self.process = subprocess.Popen(
            self._argv(
                "postgres",
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.root}",
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=32MB",
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
                "-c",
                "log_min_messages=warning",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log_tail()}")
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start: {self.log_tail()}")
            time.sleep(0.05)

    def stop(self, *, immediate: bool = False) -> None:
        """Fast shutdown (SIGINT): connections are closed, the data is kept.

        ``immediate`` (SIGQUIT) skips the shutdown checkpoint, for a cluster
        about to be thrown away (the checkpoint would fsync every database).
        """
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT if immediate else signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def cleanup(self) -> None:
        self.stop(immediate=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "postgres.log").read_text()[-2000:]
        return ""

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser over the unix socket; its output."""
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout

    def create_database(self) -> str:
        """A new, empty database; its name."""
        name = f"corral_test_{os.getpid()}_{next(_databases)}"
        self.psql(f"CREATE DATABASE {name}")
        return name

    def url(self, database: str, *, password: str = PASSWORD) -> str:
        """The datastore URL of ``database`` (with the password, as users write it)."""
        return f"postgres://{USER}:{password}@127.0.0.1:{self.port}/{database}?sslmode=disable"


@contextlib.contextmanager
def started_postgres() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL server, stopped and removed at the end (skip if not installed)."""
    bindir = postgres_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (Debian package postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message + "; make test installs it")
        pytest.skip(message)
    server = PostgresServer(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    with started_postgres() as server:
        yield server


@pytest.fixture
def fresh_database(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres_server.url(postgres_server.create_database())

"""Fixtures shared by the storage tests: a backend per driver, opened and closed.

``DRIVERS`` maps a driver name to a function giving the datastore URL of a
fresh datastore for a test; adding a driver to the contract suite is one entry
here. A driver that needs a server asks the test for its fixture (the
``postgres`` entry starts PostgreSQL once per session, see tests/pgserver.py,
and makes a new database for every backend).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from corral.storage import Backend, StorageOptions, open_backend
from etcdserver import fresh_etcd_url, stop_fresh
from pgserver import PostgresServer, fresh_database, postgres_server

from .helpers import FAST, BackendFactory

__all__ = ["fresh_database", "postgres_server"]  # fixtures offered to every storage test

_counter = itertools.count()


def _postgres(tmp: Path, request: pytest.FixtureRequest) -> str:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url(server.create_database())


DRIVERS: dict[str, Callable[[Path, pytest.FixtureRequest], str]] = {
    "memory": lambda tmp, request: "memory://",
    "sqlite": lambda tmp, request: f"sqlite://{tmp}/state-{next(_counter)}.db",
    "postgres": _postgres,
    # A server per datastore: the contract needs a log of its own (revision 0).
    "etcd": lambda tmp, request: fresh_etcd_url(tmp),
}


@pytest.fixture(autouse=True)
def _stop_datastore_servers() -> Iterator[None]:
    """Stop the servers a test's datastores needed (after its backends closed)."""
    yield
    stop_fresh()


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def make_backend(
    driver: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[BackendFactory]:
    """Open and start a fresh backend of ``driver``; closed after the test."""
    opened: list[Backend] = []

    async def make(options: StorageOptions = FAST) -> Backend:
        backend = open_backend(DRIVERS[driver](tmp_path, request), options)
        await backend.start()
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        await backend.close()


@pytest.fixture
async def backend(make_backend: BackendFactory) -> Backend:
    return await make_backend()

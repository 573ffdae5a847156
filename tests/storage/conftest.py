"""Fixtures shared by the storage tests: a backend per driver, opened and closed.

``DRIVERS`` maps a driver name to the datastore URL of a fresh datastore in a
test's directory; adding a driver to the contract suite is one entry here.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from corral.storage import Backend, StorageOptions, open_backend
from etcdserver import fresh_etcd_url, stop_fresh

from .helpers import FAST, BackendFactory

_counter = itertools.count()

DRIVERS: dict[str, Callable[[Path], str]] = {
    "memory": lambda tmp: "memory://",
    "sqlite": lambda tmp: f"sqlite://{tmp}/state-{next(_counter)}.db",
    # A server per datastore: the contract needs a log of its own (revision 0).
    "etcd": fresh_etcd_url,
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
async def make_backend(driver: str, tmp_path: Path) -> AsyncIterator[BackendFactory]:
    """Open and start a fresh backend of ``driver``; closed after the test."""
    opened: list[Backend] = []

    async def make(options: StorageOptions = FAST) -> Backend:
        backend = open_backend(DRIVERS[driver](tmp_path), options)
        await backend.start()
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        await backend.close()


@pytest.fixture
async def backend(make_backend: BackendFactory) -> Backend:
    return await make_backend()

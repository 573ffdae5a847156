"""The shared datastores the replica tests and benchmark run on, when present.

PostgreSQL (``tests/pgserver.py``) and etcd (``tests/etcdserver.py``) are
started by their own helpers; a driver whose helper or server binary is
missing is skipped, not failed. `shared_datastore` yields one datastore URL
that several ``corral server`` processes can open at once.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

import pytest

DRIVERS = ("postgres", "etcd")


@contextlib.contextmanager
def shared_datastore(driver: str) -> Iterator[str]:
    """A fresh datastore URL of ``driver`` for the duration of the block."""
    if driver == "postgres":
        try:
            pgserver = importlib.import_module("pgserver")
        except ImportError:
            pytest.skip("the PostgreSQL driver is not on this branch yet")
        with pgserver.started_postgres() as server:
            yield server.url(server.create_database())
    elif driver == "etcd":
        try:
            etcdserver = importlib.import_module("etcdserver")
        except ImportError:
            pytest.skip("the etcd driver is not on this branch yet")
        with etcdserver.running_etcd() as server:
            yield server.url(etcdserver.unique_root())
    else:
        raise ValueError(driver)

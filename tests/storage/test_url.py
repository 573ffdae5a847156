"""Datastore URLs: which driver each names, and clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.storage import DatastoreURLError, MemoryBackend, SQLiteBackend, open_backend
from corral.storage.postgres import PostgresBackend


def test_sqlite_absolute_and_relative_paths(tmp_path: Path) -> None:
    absolute = open_backend(f"sqlite://{tmp_path}/state.db")
    assert isinstance(absolute, SQLiteBackend)
    assert absolute.path == f"{tmp_path}/state.db"
    relative = open_backend("sqlite://data/state%20db.db")
    assert isinstance(relative, SQLiteBackend)
    assert relative.path == "data/state db.db"


def test_memory() -> None:
    assert isinstance(open_backend("memory://"), MemoryBackend)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:secret@host/db", "unsupported datastore URL scheme 'mysql'"),
        ("/var/lib/state.db", "malformed datastore URL"),
        ("sqlite://", "needs a path"),
        ("sqlite:///x.db?mode=ro", "takes no query"),
        ("memory://somewhere", "takes no address"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(DatastoreURLError, match=message) as caught:
        open_backend(url)
    assert "secret" not in str(caught.value)
    assert "sqlite://" in str(caught.value) or "memory://" in str(caught.value)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres(scheme: str) -> None:
    backend = open_backend(f"{scheme}://corral:s%40cret@db.example:6543/state?sslmode=disable")
    assert isinstance(backend, PostgresBackend)
    address = backend.address
    assert (address.host, address.port, address.user, address.database) == (
        "db.example",
        6543,
        "corral",
        "state",
    )
    assert address.password == "s@cret"
    assert address.sslmode == "disable"
    assert backend.where == "postgres://corral@db.example:6543/state"
    assert "s@cret" not in repr(address)


def test_postgres_defaults() -> None:
    backend = open_backend("postgres://corral@localhost")
    assert isinstance(backend, PostgresBackend)
    assert (backend.address.port, backend.address.database) == (5432, "corral")
    assert backend.address.password is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://u:secret@/db", "needs a host"),
        ("postgres://:secret@host/db", "needs a user"),
        ("postgres://u:secret@host:99999/db", "bad host or port"),
        ("postgres://u:secret@host/db?sslmode=sometimes", "sslmode must be one of"),
        (
            "postgres://u:secret@host/db?application=x",
            "unknown postgres:// datastore URL parameter",
        ),
        ("postgres://u:secret@host/db?connect_timeout=-1", "connect_timeout"),
        ("postgres://u:secret@host/a/b", "names one database"),
    ],
)
def test_bad_postgres_urls(url: str, message: str) -> None:
    with pytest.raises(DatastoreURLError, match=message) as caught:
        open_backend(url)
    assert "secret" not in str(caught.value)

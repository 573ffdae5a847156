"""Datastore URLs: which driver each names, and clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.storage import DatastoreURLError, MemoryBackend, SQLiteBackend, open_backend


def test_sqlite_absolute_and_relative_paths(tmp_path: Path) -> None:
    absolute = open_backend(f"sqlite://{tmp_path}/state.db")
    assert isinstance(absolute, SQLiteBackend)
    assert absolute.path == f"{tmp_path}/state.db"
    relative = open_backend("sqlite://data/state%20db.db")
    assert isinstance(relative, SQLiteBackend)
    assert relative.path == "data/state db.db"


def test_memory() -> None:
    assert isinstance(open_backend("memory://"), MemoryBackend)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_known_drivers_not_available_yet(scheme: str) -> None:
    with pytest.raises(DatastoreURLError, match="not available yet") as caught:
        open_backend(f"{scheme}://user:secret@host:5432/db")
    assert "secret" not in str(caught.value)


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

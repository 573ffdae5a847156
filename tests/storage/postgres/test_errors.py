"""What a PostgreSQL datastore that cannot be used says: clearly, and never the password."""

from __future__ import annotations

import socket

import pytest

from corral.storage import (
    DatastoreError,
    DatastoreUnavailableError,
    SchemaVersionError,
    open_backend,
)
from pgserver import PASSWORD, PostgresServer

from ..helpers import FAST


async def test_a_wrong_password_is_refused_without_echoing_either(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.url("postgres", password="Wrong-Pass-99")
    backend = open_backend(url, FAST)
    with pytest.raises(DatastoreError, match="password authentication failed") as caught:
        await backend.start()
    assert "Wrong-Pass-99" not in str(caught.value)
    assert f"postgres://corral@127.0.0.1:{postgres_server.port}/postgres" in str(caught.value)


async def test_a_missing_database_is_named(postgres_server: PostgresServer) -> None:
    backend = open_backend(postgres_server.url("no_such_db"), FAST)
    with pytest.raises(DatastoreError, match="no_such_db") as caught:
        await backend.start()
    assert PASSWORD not in str(caught.value)


async def test_an_unreachable_server_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        backend = open_backend(f"postgres://corral:{PASSWORD}@127.0.0.1:{port}/x", FAST)
        with pytest.raises(DatastoreUnavailableError, match="is unreachable") as caught:
            await backend.start()
    assert PASSWORD not in str(caught.value)


async def test_a_newer_schema_is_refused_and_left_alone(
    postgres_server: PostgresServer, fresh_database: str
) -> None:
    backend = open_backend(fresh_database, FAST)
    await backend.start()
    await backend.create("/k", b"v")
    await backend.close()
    database = fresh_database.rsplit("/", 1)[1].split("?")[0]
    postgres_server.psql("UPDATE corral_meta SET schema_version = 99", database)
    newer = open_backend(fresh_database, FAST)
    with pytest.raises(SchemaVersionError, match="newer Corral \\(schema 99\\)"):
        await newer.start()
    assert postgres_server.psql("SELECT count(*) FROM corral_kv", database).strip() == "1"

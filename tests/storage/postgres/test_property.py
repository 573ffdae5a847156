"""Property: any sequence of writes leaves the memory and PostgreSQL drivers with one log.

The same drawn creates, updates, deletes and compactions as the memory/SQLite
property (tests/storage/test_property.py), each sequence on a new database:
every op must get the same outcome, and the history and the state at every
readable revision must be the same.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings

from corral.storage import MemoryBackend, open_backend
from pgserver import PostgresServer

from ..helpers import FAST
from ..test_property import Op, ops, run


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sequence=ops)
def test_memory_and_postgres_keep_the_same_log(
    postgres_server: PostgresServer, sequence: list[Op]
) -> None:
    url = postgres_server.url(postgres_server.create_database())
    memory = asyncio.run(run(MemoryBackend(FAST), sequence))
    postgres = asyncio.run(run(open_backend(url, FAST), sequence))
    assert memory == postgres

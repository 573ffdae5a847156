"""Every acknowledged write survives a kill -9 of the process that made it,
and a crash of the PostgreSQL server right after (no shutdown checkpoint)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.storage import open_backend
from pgserver import PostgresServer, started_postgres

from ..helpers import FAST
from .kill_writer import value_for

ACKNOWLEDGED_BEFORE_KILL = 300


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own: it is going to crash."""
    with started_postgres() as server:
        yield server


async def test_acknowledged_writes_survive_sigkill_and_a_server_crash(
    own_postgres: PostgresServer,
) -> None:
    url = own_postgres.url(own_postgres.create_database())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("kill_writer.py")),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    acknowledged: list[str] = []
    try:
        async with asyncio.timeout(60):
            while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
                line = await process.stdout.readline()
                if not line:
                    error = await process.stderr.read()
                    raise AssertionError(f"writer exited early: {error.decode()}")
                acknowledged.append(line.decode().rstrip("\n"))
    finally:
        os.kill(process.pid, signal.SIGKILL)
        rest = await process.stdout.read()
        await process.wait()
    acknowledged += rest.decode().split("\n")[:-1]
    assert process.returncode == -signal.SIGKILL

    # An immediate stop is a crash for the data: no checkpoint, WAL replay on start.
    own_postgres.stop(immediate=True)
    own_postgres.start()

    backend = open_backend(url, FAST)
    await backend.start()
    try:
        for key in acknowledged:
            kv = await backend.get(key)
            assert kv is not None, f"acknowledged key {key} lost"
            assert kv.value == value_for(key)
        listed = await backend.list("/durable/")
        # Revisions are one unbroken sequence after recovery too.
        assert sorted(kv.mod_revision for kv in listed.items) == list(
            range(1, len(listed.items) + 1)
        )
    finally:
        await backend.close()

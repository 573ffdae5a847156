"""Every acknowledged write survives a kill -9 of the process that made it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from corral.storage import SQLiteBackend

from ..helpers import FAST
from .kill_writer import value_for

ACKNOWLEDGED_BEFORE_KILL = 300


async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("kill_writer.py")),
        str(path),
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
    # Lines the writer finished printing before the kill count too.
    acknowledged += rest.decode().split("\n")[:-1]
    assert process.returncode == -signal.SIGKILL

    backend = SQLiteBackend(path, FAST)
    await backend.start()
    try:
        for key in acknowledged:
            kv = await backend.get(key)
            assert kv is not None, f"acknowledged key {key} lost"
            assert kv.value == value_for(key)
    finally:
        await backend.close()

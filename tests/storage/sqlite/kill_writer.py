"""Helper process for test_durability: write until killed, printing acknowledged keys.

Usage: ``python kill_writer.py <datastore path>``. Sixteen writers create keys
concurrently; each key is printed (and flushed) right after its create was
acknowledged, so every printed key must be in the datastore after a SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys

from corral.storage import SQLiteBackend

WRITERS = 16


def value_for(key: str) -> bytes:
    return key.encode() * 16


async def main(path: str) -> None:
    backend = SQLiteBackend(path)
    await backend.start()

    async def writer(number: int) -> None:
        i = 0
        while True:
            key = f"/durable/{number}/{i}"
            await backend.create(key, value_for(key))
            sys.stdout.write(key + "\n")
            sys.stdout.flush()
            i += 1

    await asyncio.gather(*(writer(n) for n in range(WRITERS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

"""Helper process for test_durability: write until killed, printing acknowledged keys.

Usage: ``python kill_writer.py <datastore URL>``. Sixteen writers create keys
concurrently on a PostgreSQL datastore; each key is printed (and flushed)
right after its create was acknowledged, so every printed key must be in the
database after this process and the PostgreSQL server both crash.
"""

from __future__ import annotations

import asyncio
import sys

from corral.storage import open_backend

WRITERS = 16


def value_for(key: str) -> bytes:
    return key.encode() * 16


async def main(url: str) -> None:
    backend = open_backend(url)
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

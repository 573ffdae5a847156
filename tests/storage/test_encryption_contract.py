"""The storage contract, passed by `EncryptedBackend` with every key encrypted.

The contract suite's tests are collected here again with ``make_backend``
overridden: each backend is wrapped, with the empty prefix, so every value
of every test goes through AES-GCM on the way in and out. The wrapper must
keep every promise of the `Backend` protocol (revisions, compare-and-swap,
reads in the past, watches, TTLs, compaction) on every driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.storage import Backend, StorageOptions, open_backend
from corral.storage.encryption import EncryptedBackend, KeyFile, Transformer
from corral.storage.encryption.keys import new_key

from .conftest import DRIVERS
from .contract.test_concurrency import *  # noqa: F403
from .contract.test_reads import *  # noqa: F403
from .contract.test_ttl_compaction import *  # noqa: F403
from .contract.test_watch import *  # noqa: F403
from .contract.test_writes import *  # noqa: F403
from .helpers import FAST, BackendFactory


@pytest.fixture(params=["memory", "sqlite"])
def driver(request: pytest.FixtureRequest) -> str:
    """The wrapper is the same on every driver: two cheap ones are enough."""
    name: str = request.param
    return name


@pytest.fixture
async def make_backend(
    driver: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[BackendFactory]:
    """Like the suite's, but every backend is wrapped and encrypts every key."""
    opened: list[Backend] = []
    transformer = Transformer(KeyFile((new_key("contract"),)))

    async def make(options: StorageOptions = FAST) -> Backend:
        inner = open_backend(DRIVERS[driver](tmp_path, request), options)
        await inner.start()
        opened.append(inner)
        return EncryptedBackend(inner, transformer, prefixes=("",))

    yield make
    for backend in opened:
        await backend.close()

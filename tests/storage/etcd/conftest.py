"""The etcd driver's own tests share the session's etcd, each under its own root."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from corral.storage import Backend, open_backend
from etcdserver import EtcdServer, etcd_session, unique_root

from ..helpers import FAST

__all__ = ["etcd_session"]


@pytest.fixture
def etcd_url(etcd_session: EtcdServer) -> str:
    """A datastore URL on the shared etcd, under a root of this test's own."""
    return etcd_session.url(unique_root())


@pytest.fixture
async def pair(etcd_url: str) -> AsyncIterator[tuple[Backend, Backend]]:
    """Two backends (as two Corral processes would have) on one etcd and root."""
    first = open_backend(etcd_url, FAST)
    second = open_backend(etcd_url, FAST)
    await first.start()
    await second.start()
    yield first, second
    await first.close()
    await second.close()

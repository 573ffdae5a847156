"""Users and Tokens by name, from the watch caches: the token authenticator's index.

`IdentityIndex` satisfies ``corral.auth.TokenIndex``. A lookup is a
dictionary read in the watch cache of the kind (kept current by the
storage watch; the object parsed once per revision). Only when the cache
does not have the key — the CRD's cache is still listing, the object was
created a moment ago and its event is on the way, or it does not exist —
is the datastore read once (``corral.apiserver.objectreader.CachedObjects``,
which the service-account authenticator uses too) (a token issued by a login works on the very next
request, on any replica). A deleted Token is gone from both: that is
revocation.

Read your writes: after the identity endpoints change a User or delete a
Token, they wait (`settled`, `gone`; bounded by `SETTLE_SECONDS`) until the
cache shows the change, so the caller's next request already sees it (the
password changed, the token revoked).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.objectreader import CachedObjects
from corral.apiserver.watchcache import WatchCache
from corral.management.kinds import GROUP, VERSION

SETTLE_SECONDS = 2.0


class IdentityIndex:
    """Current ``User`` and ``Token`` objects of management.corral.io by name."""

    def __init__(self, parts: ServerParts) -> None:
        self._parts = parts
        self._objects = CachedObjects(parts, GROUP, VERSION)

    async def token(self, name: str) -> Mapping[str, Any] | None:
        return await self._objects.current("tokens", "", name)

    async def user(self, name: str) -> Mapping[str, Any] | None:
        return await self._objects.current("users", "", name)

    async def settled(self, resource: str, resource_version: str) -> None:
        """Wait until the cache of ``resource`` has applied ``resource_version``."""
        cache = self._cache(resource)
        if cache is not None and resource_version.isdigit():
            await cache.wait_until(int(resource_version), SETTLE_SECONDS)

    async def gone(self, resource: str, name: str) -> None:
        """Wait until object ``name`` of ``resource`` is no longer in its cache."""
        rt = self._parts.registry.lookup(GROUP, VERSION, resource)
        cache = self._cache(resource)
        if rt is None or cache is None:
            return
        key = rt.key("", name)
        with contextlib.suppress(TimeoutError):  # late: the delete still lands in ms
            async with asyncio.timeout(SETTLE_SECONDS):
                while cache.get(key) is not None:  # noqa: ASYNC110 (bounded, ms)
                    await asyncio.sleep(0.002)

    def _cache(self, resource: str) -> WatchCache | None:
        rt = self._parts.registry.lookup(GROUP, VERSION, resource)
        if rt is None or rt.storage_prefix not in self._parts.caches:
            return None
        return self._parts.caches[rt.storage_prefix]

"""Allocating numbered things (cluster IPs, node ports) with one storage key each.

Kubernetes moved from one bitmap object per range to one ``IPAddress``
object per allocated IP, because a key per allocation makes allocation a
plain create-if-absent: two API servers racing for the same address cannot
both win (the storage's ``create`` fails with ``KeyExistsError`` for the
second), nothing has to be re-read and re-written under contention, and
what is allocated survives restarts because it *is* the storage.
`KeyAllocator` does that for any range of offsets ``0..size-1``: the key is
``<prefix><label(offset)>`` and its value records the owner's uid and when
it was taken (the repair loop uses both).

Random allocation follows Kubernetes' static/dynamic split: the first
``static_band`` offsets are kept for users who ask for a value, and random
choices come from the rest first (then from the band, when the rest is
full). A range with no free offset answers None.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from corral.storage import Backend, KeyExistsError, KeyNotFoundError, RevisionMismatchError

_RANDOM_TRIES = 16


@dataclass(frozen=True, slots=True)
class Allocation:
    """Who holds an offset, since when (epoch seconds)."""

    offset: int
    owner: str
    since: float


def static_band(size: int, divisor: int, cap: int) -> int:
    """Kubernetes' static sub-range: ``min(max(16, size/divisor), cap)``, at most ``size``."""
    return min(max(16, size // divisor), cap, size)


class KeyAllocator:
    """Offsets of one range, each allocated by creating its own key."""

    def __init__(
        self,
        backend: Backend,
        prefix: str,
        size: int,
        label: Callable[[int], str],
        parse: Callable[[str], int | None],
        *,
        band: int = 0,
        reserved: Iterable[int] = (),
    ) -> None:
        self.backend = backend
        self.prefix = prefix
        self.size = size
        self.label = label
        self.parse = parse
        self.band = band
        self.reserved = frozenset(reserved)

    def key(self, offset: int) -> str:
        return self.prefix + self.label(offset)

    async def allocate(self, offset: int, owner: str) -> bool:
        """Take ``offset`` for ``owner``; False if someone holds it."""
        value = orjson.dumps({"owner": owner, "since": time.time()})
        try:
            await self.backend.create(self.key(offset), value)
        except KeyExistsError:
            return False
        return True

    async def is_free(self, offset: int) -> bool:
        return await self.backend.get(self.key(offset)) is None

    async def holder(self, offset: int) -> Allocation | None:
        kv = await self.backend.get(self.key(offset))
        return None if kv is None else _allocation(offset, kv.value)

    async def release(self, offset: int, owner: str = "") -> None:
        """Free ``offset`` (only if ``owner`` holds it, when given)."""
        kv = await self.backend.get(self.key(offset))
        if kv is None:
            return
        if owner and _allocation(offset, kv.value).owner != owner:
            return
        try:
            await self.backend.delete(kv.key, expected_revision=kv.mod_revision)
        except (KeyNotFoundError, RevisionMismatchError):
            return

    async def allocations(self) -> list[Allocation]:
        """Everything allocated now."""
        page = await self.backend.list(self.prefix)
        out = []
        for kv in page.items:
            offset = self.parse(kv.key[len(self.prefix) :])
            if offset is not None:
                out.append(_allocation(offset, kv.value))
        return out

    def _candidates(self, taken: set[int]) -> list[int]:
        skip = taken | self.reserved
        upper = [o for o in range(self.band, self.size) if o not in skip]
        return upper or [o for o in range(self.band) if o not in skip]

    async def pick(self, owner: str, *, dry_run: bool = False) -> int | None:
        """Allocate a random free offset (dry run: find one, take nothing)."""
        if self.band < self.size:
            for _ in range(_RANDOM_TRIES):
                offset = self.band + secrets.randbelow(self.size - self.band)
                if offset in self.reserved:
                    continue
                if dry_run:
                    if await self.is_free(offset):
                        return offset
                elif await self.allocate(offset, owner):
                    return offset
        while True:
            taken = {a.offset for a in await self.allocations()}
            candidates = self._candidates(taken)
            if not candidates:
                return None
            offset = secrets.choice(candidates)
            if dry_run or await self.allocate(offset, owner):
                return offset


def _allocation(offset: int, value: bytes) -> Allocation:
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    owner = doc.get("owner")
    since = doc.get("since")
    return Allocation(
        offset,
        owner if isinstance(owner, str) else "",
        float(since) if isinstance(since, (int, float)) else 0.0,
    )

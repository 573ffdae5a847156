"""Moving stored values to the primary key: the start-up check and the rewrite.

Two jobs over every key under the encrypted prefixes, reading the wrapped
driver directly (raw values, so the envelope says which key each is under):

- `check` (at start-up, before serving): the first value found under each
  key name is decrypted. A value under a key that the key file lacks, or one
  that does not authenticate (a different key under the same name), stops
  the start with a `DecryptError` naming the key, instead of serving garbage
  or failing request by request later.
- `rewrite` (in the background): every value not under the primary key —
  plaintext from before encryption was on, or ciphertext under an older key
  after a rotation — is decrypted and written back under the primary, with
  compare-and-swap on the revision it was read at. A concurrent write wins
  (it went through `EncryptedBackend`, so it is already under the current
  primary); the key is looked at again in the next round, so no write is
  lost and nothing is left behind. Rounds repeat until one finds nothing to
  move. A rewrite is an ordinary update: it takes a revision and watchers
  see a MODIFIED event with unchanged content (as after Kubernetes' storage
  migration).

The previous value stays in the log's history until compaction removes it
(docs/encryption.md): old ciphertext is gone only after the compaction
window has passed the rewrite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson

from corral.storage.encryption.backend import EncryptedBackend
from corral.storage.encryption.transformer import key_name_of
from corral.storage.errors import KeyNotFoundError, RevisionMismatchError
from corral.storage.types import KeyValue

#: The name counts use for values stored in clear.
PLAINTEXT = "identity"
_PAGE = 500
_MAX_ROUNDS = 10


@dataclass(slots=True)
class EncryptionStatus:
    """Where stored values stand: how many under which key."""

    primary: str | None
    configured: tuple[str, ...]
    #: Values per key name (`PLAINTEXT` for values stored in clear).
    counts: dict[str, int] = field(default_factory=dict)
    #: Values rewritten by the last rewrite.
    rewritten: int = 0
    #: "checked", "done" or "failed".
    state: str = "checked"
    updated: str = ""
    #: The log's revision when the rewrite ended, and its compaction point
    #: (refreshed while the server runs): history older than the rewrite may
    #: still hold values under old keys until compaction passes it.
    revision: int = 0
    compacted: int = 0

    @property
    def history_clear(self) -> bool:
        """True once compaction has removed every history row older than the rewrite."""
        return self.compacted >= self.revision

    @property
    def settled(self) -> bool:
        """True if every stored value is under the primary key (or in clear
        with encryption off): keys other than the primary may be removed."""
        wanted = self.primary or PLAINTEXT
        return self.state == "done" and all(n == wanted for n, c in self.counts.items() if c)

    def to_json(self) -> bytes:
        doc = {
            "primary": self.primary,
            "configured": list(self.configured),
            "counts": self.counts,
            "rewritten": self.rewritten,
            "state": self.state,
            "settled": self.settled,
            "rewriteRevision": self.revision,
            "compactedRevision": self.compacted,
            "historyClear": self.history_clear,
            "updated": self.updated,
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


async def _raw_pages(backend: EncryptedBackend, prefix: str) -> AsyncIterator[list[KeyValue]]:
    """The stored (raw) values under ``prefix``, one page at a time (memory stays bounded)."""
    after = ""
    while True:
        page = await backend.inner.list(prefix, limit=_PAGE, start_after=after)
        if page.items:
            yield page.items
            after = page.items[-1].key
        if not page.more or not page.items:
            return


def _status(backend: EncryptedBackend, state: str) -> EncryptionStatus:
    t = backend.transformer
    return EncryptionStatus(
        primary=t.primary,
        configured=t.keys.names if t.keys else (),
        state=state,
        updated=_now(),
    )


async def check(backend: EncryptedBackend) -> EncryptionStatus:
    """Decrypt one value per key name; raises `DecryptError`. Counts every value."""
    status = _status(backend, "checked")
    status.revision = await backend.inner.current_revision()
    status.compacted = await backend.inner.compacted_revision()
    for prefix in backend.prefixes:
        async for page in _raw_pages(backend, prefix):
            for kv in page:
                name = key_name_of(kv.value)
                label = PLAINTEXT if name is None else name
                if label not in status.counts:
                    backend.transformer.decrypt(kv.key, kv.value)
                status.counts[label] = status.counts.get(label, 0) + 1
    return status


async def rewrite(backend: EncryptedBackend) -> EncryptionStatus:
    """Move every value under the primary key; returns the final counts."""
    rewritten = 0
    for _ in range(_MAX_ROUNDS):
        status = _status(backend, "done")
        current = status.primary or PLAINTEXT
        lost_races = 0
        for prefix in backend.prefixes:
            async for page in _raw_pages(backend, prefix):
                stale = [kv for kv in page if not backend.transformer.is_current(kv.value)]
                moved = sum(await asyncio.gather(*(_move(backend, kv) for kv in stale)))
                rewritten += moved
                lost_races += len(stale) - moved
                for kv in page:
                    name = key_name_of(kv.value)
                    label = PLAINTEXT if name is None else name
                    status.counts[label] = status.counts.get(label, 0) + 1
                if stale:  # moved ones are under the primary now (lost races: next round)
                    for kv in stale:
                        name = key_name_of(kv.value)
                        status.counts[PLAINTEXT if name is None else name] -= 1
                    status.counts[current] = status.counts.get(current, 0) + len(stale)
        status.counts = {k: v for k, v in status.counts.items() if v}
        status.rewritten = rewritten
        if not lost_races:
            status.revision = await backend.inner.current_revision()
            status.compacted = await backend.inner.compacted_revision()
            return status
    status.state = "failed"
    return status


async def _move(backend: EncryptedBackend, kv: KeyValue) -> bool:
    """Rewrite one value under the primary; False if a concurrent write won."""
    t = backend.transformer
    sealed = t.encrypt(kv.key, t.decrypt(kv.key, kv.value))
    try:
        await backend.inner.update(kv.key, sealed, expected_revision=kv.mod_revision, ttl=kv.lease)
    except (RevisionMismatchError, KeyNotFoundError):
        return False
    return True

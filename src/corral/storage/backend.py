"""The `Backend` protocol: the one contract every storage driver fulfils.

Corral keeps every object in one revisioned key-value log (DESIGN §4). Each
create, update or delete appends one entry and takes the next global revision;
the newest entry of a key is its state. This protocol is deliberately small,
like kine's: the API server builds Kubernetes semantics on top of it, and a new
driver only has to pass the contract suite in ``tests/storage/contract``.

Semantics every driver keeps:

- Revisions strictly increase across all keys and are never reused.
- ``create`` succeeds only if the key is absent; ``update`` and ``delete``
  compare the key's current ``mod_revision`` with the expected one.
- A write is acknowledged (its coroutine returns) only once it is durable, and
  its event reaches watchers only after that.
- Reads at ``revision=0`` see every acknowledged write. Reads at an older
  revision see the log as it was then, until compaction removes that history.
- ``watch`` yields, in revision order, every event after ``revision`` for keys
  under the prefix, with no gaps and no duplicates.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from corral.storage.types import Event, KeyValue, ListResult


class EventStream(Protocol):
    """A watch: its events in revision order, and how far its reader has got."""

    def __aiter__(self) -> EventStream: ...

    async def __anext__(self) -> Event: ...

    async def aclose(self) -> None:
        """End the watch (its subscription is released)."""

    def progress(self) -> int | None:
        """A revision up to which the reader has seen every event (None: not known).

        Known while the watch is live with nothing buffered: every event up to
        the newest revision this process published has been read.
        """


@runtime_checkable
class Backend(Protocol):
    """A revisioned key-value log. All keys are ``str``; all values are ``bytes``."""

    async def start(self) -> None:
        """Open the datastore and start background work (TTL expiry, compaction)."""

    async def close(self) -> None:
        """Finish pending writes, stop background work and release the datastore."""

    async def current_revision(self) -> int:
        """The revision of the newest acknowledged write (0 for an empty log)."""

    async def compacted_revision(self) -> int:
        """The newest revision whose history has been compacted (0 if none)."""

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The key as of ``revision`` (0: now), or None if it was absent then."""

    async def list(
        self,
        prefix: str,
        *,
        revision: int = 0,
        limit: int = 0,
        start_after: str = "",
    ) -> ListResult:
        """Live keys under ``prefix`` in key order, read at one revision.

        ``limit`` 0 means all; ``start_after`` skips keys up to and including it,
        so that a continue token is simply (revision, last key of the page).
        """

    async def count(self, prefix: str) -> tuple[int, int]:
        """How many live keys are under ``prefix`` now, and the revision counted at."""

    async def create(self, key: str, value: bytes, *, ttl: int = 0) -> KeyValue:
        """Create the key; raise `KeyExistsError` if it is live.

        With ``ttl`` > 0, the key is deleted by the backend (as an ordinary
        delete event) about ``ttl`` seconds after its last write.
        """

    async def update(
        self, key: str, value: bytes, *, expected_revision: int, ttl: int = 0
    ) -> KeyValue:
        """Replace the value if the key is at ``expected_revision``."""

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        """Delete the key (if at ``expected_revision``, when that is not 0).

        Returns the deleted state: the last value, at the delete's revision.
        """

    def watch(self, prefix: str, *, revision: int) -> EventStream:
        """Every event after ``revision`` for keys under ``prefix``, then live ones.

        Raises `CompactedError` (before the first event) if ``revision`` is older
        than the compaction point, `FutureRevisionError` if it is newer than the
        current revision, and `WatchOverflowError` (mid-stream) if this watcher
        falls too far behind. The iterator ends when the backend closes.
        """

    async def compact(self, revision: int) -> int:
        """Remove history at or before ``revision`` that no reader at a newer
        revision needs; returns the new compaction point."""

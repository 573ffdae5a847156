"""`EncryptedBackend`: encryption at rest as a wrapper of any `Backend`.

Encryption happens at the storage boundary, below the API server and above
every driver: values of keys under `ENCRYPTED_PREFIXES` are encrypted on the
way in (`create`, `update`) and decrypted on the way out (`get`, `list`,
`delete`'s returned value, every watch event). So:

- every driver (SQLite, memory, PostgreSQL, etcd) stores only ciphertext for
  those keys, history rows included, because a driver stores exactly the
  bytes it is given;
- the API server, its watch caches and every watcher see plaintext, and
  nothing above storage knows encryption exists;
- keys outside the prefixes pass through untouched (no copy, no check), and
  reads whose prefix cannot hold an encrypted key skip the per-item test.

The keys can be replaced while running (`set_transformer`, after a key file
change); a write already encrypted keeps the key it was encrypted with, and
the rewriter (`corral.storage.encryption.rewriter`) moves old values over.
"""

from __future__ import annotations

from dataclasses import replace

from corral.storage.backend import Backend, EventStream
from corral.storage.encryption.transformer import Transformer
from corral.storage.types import Event, KeyValue, ListResult

#: Storage key prefixes whose values are encrypted: Secrets (password Secrets
#: of local users included), Corral's tokens, cluster registration tokens,
#: and the bootstrap credentials.
ENCRYPTED_PREFIXES: tuple[str, ...] = (
    "/registry/core/secrets/",
    "/registry/management.corral.io/tokens/",
    "/registry/management.corral.io/clusterregistrationtokens/",
    "/corral/bootstrap/",
)


def _overlaps(prefix: str, encrypted: tuple[str, ...]) -> bool:
    """True if a key under ``prefix`` may be under one of ``encrypted``."""
    return any(prefix.startswith(e) or e.startswith(prefix) for e in encrypted)


class EncryptedBackend:
    """A `Backend` that encrypts the values of some keys of ``inner``."""

    def __init__(
        self,
        inner: Backend,
        transformer: Transformer,
        prefixes: tuple[str, ...] = ENCRYPTED_PREFIXES,
    ) -> None:
        self.inner = inner
        self.prefixes = prefixes
        self.transformer = transformer

    def set_transformer(self, transformer: Transformer) -> None:
        """Use other keys from now on (a reloaded key file)."""
        self.transformer = transformer

    def encrypts(self, key: str) -> bool:
        return key.startswith(self.prefixes)

    def _open(self, kv: KeyValue) -> KeyValue:
        if not kv.key.startswith(self.prefixes):
            return kv
        return replace(kv, value=self.transformer.decrypt(kv.key, kv.value))

    def _seal(self, key: str, value: bytes) -> bytes:
        return self.transformer.encrypt(key, value) if key.startswith(self.prefixes) else value

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def compacted_revision(self) -> int:
        return await self.inner.compacted_revision()

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        kv = await self.inner.get(key, revision=revision)
        return None if kv is None else self._open(kv)

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        page = await self.inner.list(
            prefix, revision=revision, limit=limit, start_after=start_after
        )
        if not _overlaps(prefix, self.prefixes):
            return page
        return ListResult([self._open(kv) for kv in page.items], page.revision, page.more)

    async def count(self, prefix: str) -> tuple[int, int]:
        return await self.inner.count(prefix)

    async def create(self, key: str, value: bytes, *, ttl: int = 0) -> KeyValue:
        kv = await self.inner.create(key, self._seal(key, value), ttl=ttl)
        return kv if kv.value is value else replace(kv, value=value)

    async def update(
        self, key: str, value: bytes, *, expected_revision: int, ttl: int = 0
    ) -> KeyValue:
        kv = await self.inner.update(
            key, self._seal(key, value), expected_revision=expected_revision, ttl=ttl
        )
        return kv if kv.value is value else replace(kv, value=value)

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        return self._open(await self.inner.delete(key, expected_revision=expected_revision))

    def watch(self, prefix: str, *, revision: int) -> EventStream:
        stream = self.inner.watch(prefix, revision=revision)
        if not _overlaps(prefix, self.prefixes):
            return stream
        return _DecryptingStream(stream, self)

    async def compact(self, revision: int) -> int:
        return await self.inner.compact(revision)


class _DecryptingStream:
    """A watch whose events carry decrypted values."""

    def __init__(self, inner: EventStream, backend: EncryptedBackend) -> None:
        self._inner = inner
        self._backend = backend

    def __aiter__(self) -> _DecryptingStream:
        return self

    async def __anext__(self) -> Event:
        event = await self._inner.__anext__()
        kv = self._backend._open(event.kv)
        return event if kv is event.kv else Event(event.type, kv, event.prev_revision)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def progress(self) -> int | None:
        return self._inner.progress()

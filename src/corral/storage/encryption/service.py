"""Running encryption at rest in a server: start-up, rewrites, key file changes.

`EncryptionAtRest` is what start-up builds around the opened driver:

- `open` loads the key file (creating it with one new key, mode 0600, on
  first start when encryption is on), wraps the driver in `EncryptedBackend`
  and runs the start-up `check` (a wrong or missing key is a `DecryptError`
  before anything is served).
- `run` (a background task) rewrites every value onto the primary key, then
  polls the key file (its size and modification time, every
  ``poll_interval`` seconds): after ``corral secrets-encrypt rotate`` the new
  keys are loaded and another rewrite moves every value to the new primary,
  with no restart. A key file that became unusable is logged and ignored;
  the keys in use stay.
- After every check and rewrite (and whenever compaction moves on, so
  ``prune`` learns when no history row under an old key is left) the counts
  are written to the status file
  (``<data-dir>/encryption-status.json``), which
  ``corral secrets-encrypt status`` and ``prune`` read: the datastore itself
  is held by the server while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from corral.storage.backend import Backend
from corral.storage.encryption.backend import ENCRYPTED_PREFIXES, EncryptedBackend
from corral.storage.encryption.errors import EncryptionError, KeyConfigError
from corral.storage.encryption.keys import KeyFile, ensure_key_file, load_key_file
from corral.storage.encryption.rewriter import EncryptionStatus, check, rewrite
from corral.storage.encryption.transformer import Transformer
from corral.storage.errors import StorageError

log = logging.getLogger("corral.storage")

STATUS_NAME = "encryption-status.json"


def status_path_for(data_dir: Path) -> Path:
    """Where a server with this data directory writes its encryption status."""
    return data_dir / STATUS_NAME


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class EncryptionAtRest:
    """The encrypted backend, its key file and its background rewriter."""

    def __init__(
        self,
        inner: Backend,
        key_path: Path,
        *,
        status_path: Path | None = None,
        enabled: bool = True,
        poll_interval: float = 5.0,
        prefixes: tuple[str, ...] = ENCRYPTED_PREFIXES,
    ) -> None:
        self.key_path = key_path
        #: Beside the key file unless told (the server: its data directory, which
        #: is writable even when the key file is mounted read-only).
        self.status_path = status_path or key_path.with_name(STATUS_NAME)
        self.enabled = enabled
        self.poll_interval = poll_interval
        self.backend = EncryptedBackend(inner, Transformer(None), prefixes)
        self.status: EncryptionStatus | None = None
        self._stamp: tuple[int, int] | None = None

    async def open(self) -> EncryptedBackend:
        """Load (or create) the keys and check the stored values with them.

        Raises `KeyConfigError` or `DecryptError`. The inner backend must be started.
        """
        keys = await asyncio.to_thread(self._load_keys)
        self.backend.set_transformer(Transformer(keys, encrypt_writes=self.enabled))
        self.status = await check(self.backend)
        await asyncio.to_thread(self._write_status)
        return self.backend

    def _load_keys(self) -> KeyFile | None:
        self._stamp = _stamp(self.key_path)
        if self.enabled:
            keys, created = ensure_key_file(self.key_path)
            if created:
                log.info("created encryption key file", extra={"path": str(self.key_path)})
                self._stamp = _stamp(self.key_path)
            return keys
        # Off: nothing new is encrypted, but values written while on stay readable.
        return load_key_file(self.key_path) if self._stamp is not None else None

    async def run(self) -> None:
        """Rewrite onto the primary now and after every key file change."""
        await self.rewrite_now()
        while True:
            await asyncio.sleep(self.poll_interval)
            stamp = await asyncio.to_thread(_stamp, self.key_path)
            if stamp == self._stamp or stamp is None:
                await self._refresh_compaction()
                continue
            self._stamp = stamp
            try:
                keys = await asyncio.to_thread(load_key_file, self.key_path)
            except KeyConfigError as exc:
                log.error("ignoring the changed encryption key file", extra={"error": str(exc)})
                continue
            log.info(
                "loaded encryption keys",
                extra={"primary": keys.primary.name, "keys": ",".join(keys.names)},
            )
            self.backend.set_transformer(Transformer(keys, encrypt_writes=self.enabled))
            await self.rewrite_now()

    async def rewrite_now(self) -> EncryptionStatus | None:
        """One rewrite; failures are logged (the next key change retries)."""
        try:
            self.status = await rewrite(self.backend)
        except (EncryptionError, StorageError) as exc:
            log.error("re-encrypting stored values failed", extra={"error": str(exc)})
            return None
        log.info(
            "stored values are under the primary encryption key"
            if self.status.state == "done"
            else "re-encryption did not finish; it is retried on the next key change",
            extra={"rewritten": self.status.rewritten, "primary": self.status.primary or "none"},
        )
        await asyncio.to_thread(self._write_status)
        return self.status

    async def _refresh_compaction(self) -> None:
        """Report how far compaction got, so ``prune`` knows when history is clear."""
        if self.status is None or self.status.history_clear:
            return
        try:
            compacted = await self.backend.inner.compacted_revision()
        except StorageError:
            return
        if compacted != self.status.compacted:
            self.status.compacted = compacted
            await asyncio.to_thread(self._write_status)

    def _write_status(self) -> None:
        if self.status is None:
            return
        tmp = self.status_path.with_name(f".{self.status_path.name}.tmp")
        try:
            tmp.write_bytes(self.status.to_json())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.status_path)
        except OSError as exc:
            log.warning("cannot write encryption status", extra={"error": exc.strerror})
            with contextlib.suppress(OSError):
                tmp.unlink()

"""Where audit records go: a bounded buffer, a background writer, rotation.

Decisions:

- A request never waits for the audit log. `AuditLog.emit` appends the
  encoded line to a bounded in-memory queue (``queue_size`` lines) and
  returns; a background task takes everything queued and writes it in one
  go, in a worker thread. When the queue is full (the disk cannot keep up),
  the record is **dropped** and counted in
  ``corral_audit_events_dropped_total``; requests go on. Kubernetes'
  blocking mode is not offered: an audit log must not be able to stop the
  control plane.
- ``-`` means standard output (one line per record, for a log collector).
- A file is opened in append mode, 0600, and rotated by size: once it
  would pass ``max_bytes``, ``audit.log`` becomes ``audit.log.1`` (the older
  ones shift up) and at most ``max_backups`` old files are kept.
  ``max_bytes`` 0 turns rotation off.
- `close` writes whatever is still queued.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger("corral.apiserver")

STDOUT = "-"


class AuditLog:
    """Buffered, bounded, rotated writing of audit lines."""

    def __init__(
        self,
        path: str,
        *,
        max_bytes: int = 100 * 1024 * 1024,
        max_backups: int = 10,
        queue_size: int = 10_000,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_backups = max_backups
        self.queue_size = queue_size
        self._queue: collections.deque[bytes] = collections.deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._fd: int | None = None
        self._size = 0
        self.dropped = 0
        self._dropped = Counter(
            "corral_audit_events_dropped",
            "Audit records dropped because the audit log's queue was full.",
            registry=registry,
        )
        self._written = Counter(
            "corral_audit_events",
            "Audit records written.",
            registry=registry,
        )

    def emit(self, line: bytes) -> None:
        """Queue one encoded record; drop it (and count) if the queue is full."""
        if len(self._queue) >= self.queue_size:
            self.dropped += 1
            self._dropped.inc()
            return
        self._queue.append(line)
        self._ready.set()

    def start(self) -> None:
        """Open the file (raises `OSError`) and start the writer task."""
        if self.path != STDOUT:
            self._open()
        self._task = asyncio.create_task(self._run(), name="audit-log")

    async def close(self) -> None:
        """Write everything queued, stop the writer, close the file."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._queue:
            await asyncio.to_thread(self._write, self._take())
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _take(self) -> list[bytes]:
        batch = list(self._queue)
        self._queue.clear()
        self._ready.clear()
        return batch

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            batch = self._take()
            try:
                await asyncio.to_thread(self._write, batch)
            except OSError as exc:
                self.dropped += len(batch)
                self._dropped.inc(len(batch))
                log.error("cannot write the audit log", extra={"error": exc.strerror})

    def _open(self) -> None:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _write(self, batch: list[bytes]) -> None:
        data = b"".join(batch)
        if self.path == STDOUT:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
                self._rotate()
            assert self._fd is not None
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            self._size += len(data)
        self._written.inc(len(batch))

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        base = Path(self.path)
        if self.max_backups <= 0:
            base.unlink(missing_ok=True)
        else:
            oldest = base.with_name(f"{base.name}.{self.max_backups}")
            oldest.unlink(missing_ok=True)
            for n in range(self.max_backups - 1, 0, -1):
                older = base.with_name(f"{base.name}.{n}")
                if older.exists():
                    older.rename(base.with_name(f"{base.name}.{n + 1}"))
            base.rename(base.with_name(f"{base.name}.1"))
        self._open()

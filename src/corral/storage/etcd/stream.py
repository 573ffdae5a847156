"""One etcd watch on its own gRPC stream: open it, read its responses, end it.

Both the driver's follower (`feed`) and its history reads (`history`) watch
every key in etcd (``[\\0, \\0)``) rather than Corral's root only: every revision
etcd hands out changes at least one key, so a watch of every key sees every
revision. That is what lets a history read know it has reached a revision
(nothing under a prefix may have changed there) and lets the follower's
position be etcd's current revision. Events outside the root are dropped by
the reader.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from aetcd import rpc

from corral.storage.errors import CompactedError, StorageError
from corral.storage.etcd.connection import Connection

EVERY_KEY = b"\x00"


class WatchStream:
    """A created etcd watch; iterate `responses`, then `close`."""

    def __init__(self, connection: Connection, call: Any) -> None:
        self._connection = connection
        self._call = call

    @classmethod
    async def open(cls, connection: Connection, start_revision: int) -> WatchStream:
        """Watch every key from ``start_revision`` (inclusive), with previous values.

        Raises `CompactedError` if etcd no longer has that revision.
        """
        call = connection.watch.Watch()
        stream = cls(connection, call)
        create = rpc.WatchCreateRequest(
            key=EVERY_KEY, range_end=EVERY_KEY, start_revision=start_revision, prev_kv=True
        )
        try:
            try:
                await call.write(rpc.WatchRequest(create_request=create))
            except grpc.aio.AioRpcError as error:
                raise connection.failure(error) from None
            except (grpc.aio.UsageError, asyncio.InvalidStateError) as error:
                raise StorageError(f"etcd watch stream unusable: {error}") from None
            first = await stream.next()
            if first.compact_revision:
                raise CompactedError(start_revision - 1, first.compact_revision)
            if not first.created:
                raise StorageError("etcd did not confirm the watch")
        except BaseException:
            stream.close()
            raise
        return stream

    async def next(self) -> Any:
        """The next response; `DatastoreError` when the stream fails or ends."""
        try:
            response = await self._call.read()
        except grpc.aio.AioRpcError as error:
            raise self._connection.failure(error) from None
        except asyncio.CancelledError:
            # The call was cancelled (closed), not the task reading it: a
            # failed stream like any other, never the end of the reader.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise StorageError("the etcd watch stream was closed") from None
        if response is grpc.aio.EOF:
            raise StorageError("etcd ended the watch stream")
        if response.compact_revision:
            raise CompactedError(0, response.compact_revision)
        if response.canceled:
            raise StorageError(f"etcd cancelled the watch: {response.cancel_reason}")
        return response

    def close(self) -> None:
        self._call.cancel()

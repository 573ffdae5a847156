"""The gRPC connection to etcd, and what etcd's failures mean in storage terms.

One channel per backend, made with aetcd's generated stubs (its high-level
client cannot read at a revision, page with a limit or count, which the
contract needs). Every unary call has a deadline, so a dead cluster is a
`DatastoreError` naming the endpoints, never a hang. etcd's own refusals map
onto the storage error tree: a future revision, a compacted one, anything else
(unavailable, deadline, permission) is a `DatastoreError`; no gRPC exception
leaves the driver.
"""

from __future__ import annotations

from typing import Any

import grpc
from aetcd import rpc

from corral.storage.errors import DatastoreError, StorageError
from corral.storage.etcd.address import EtcdAddress

#: Deadline of one request (seconds).
CALL_TIMEOUT = 10.0
#: etcd's messages for reads outside the kept history.
FUTURE = "future revision"
COMPACTED = "compacted"

#: gRPC channel options: etcd values can be up to 1.5 MiB and a page holds many.
_OPTIONS = [
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.lb_policy_name", "round_robin"),
]


class EtcdRefusal(StorageError):
    """etcd answered with an error about the revision asked for (future or compacted)."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.future = FUTURE in details
        self.compacted = COMPACTED in details


class Connection:
    """The channel and stubs of one backend, with failures mapped."""

    def __init__(self, address: EtcdAddress) -> None:
        self.address = address
        self.channel = grpc.aio.insecure_channel(address.grpc_target(), options=_OPTIONS)
        self.kv = rpc.KVStub(self.channel)
        self.watch = rpc.WatchStub(self.channel)
        self.lease = rpc.LeaseStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    def failure(self, error: grpc.aio.AioRpcError) -> StorageError:
        """The storage error a failed call means."""
        details = error.details() or ""
        if error.code() == grpc.StatusCode.OUT_OF_RANGE and (
            FUTURE in details or COMPACTED in details
        ):
            return EtcdRefusal(details)
        return DatastoreError(
            f"etcd at {self.address.describe()}: {error.code().name.lower()}: {details}"
        )

    async def call(self, method: Any, request: Any) -> Any:
        """One unary call, with the deadline and the failure mapping."""
        try:
            return await method(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise self.failure(error) from None

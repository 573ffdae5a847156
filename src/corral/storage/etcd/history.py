"""Reading past events from etcd, and learning its compaction point.

etcd has no "list the log" call: its history is read by a watch that starts
in the past. `events_after` opens such a watch on every key (see `stream`),
keeps the events under the requested prefix, and stops at the revision asked
for, which it is sure to see because every revision changes some key. The
compaction point is not exposed either: `compacted_revision` asks for
revision 1 and reads the compaction point etcd refuses it with.
"""

from __future__ import annotations

from aetcd import rpc

from corral.storage.errors import CompactedError
from corral.storage.etcd import events as convert
from corral.storage.etcd.connection import Connection, EtcdRefusal
from corral.storage.etcd.stream import WatchStream
from corral.storage.types import Event


async def events_after(
    connection: Connection, root: bytes, prefix: bytes, after: int, upto: int, limit: int
) -> tuple[list[Event], int]:
    """About ``limit`` events in (after, upto] under ``root + prefix``, in order,
    and the revision the read covered (``upto`` unless ``limit`` was reached;
    a page holds whole revisions, so it may exceed ``limit`` a little)."""
    if after >= upto:
        return [], upto
    full = root + prefix
    length = len(root)
    found: list[Event] = []
    covered = after
    try:
        stream = await WatchStream.open(connection, after + 1)
        try:
            while True:
                response = await stream.next()
                # A revision's events all come in one response: take them
                # whole, so a page never ends in the middle of a revision.
                for raw in response.events:
                    covered = raw.kv.mod_revision
                    if covered > upto:
                        return found, upto
                    if raw.kv.key.startswith(full):
                        found.append(convert.event(raw, length))
                if covered >= upto:
                    return found, upto
                if len(found) >= limit:
                    return found, covered
        finally:
            stream.close()
    except CompactedError as error:
        raise CompactedError(after, error.compacted) from None


async def compacted_revision(connection: Connection, root: bytes) -> int:
    """etcd's compaction point (0 if it never compacted)."""
    try:
        await connection.call(connection.kv.Range, rpc.RangeRequest(key=root, revision=1, limit=1))
    except EtcdRefusal as refusal:
        if not refusal.compacted:
            return 0  # revision 1 is in the future: an empty etcd
    else:
        return 0
    try:
        stream = await WatchStream.open(connection, 1)
    except CompactedError as error:
        return error.compacted
    try:
        await stream.next()
    except CompactedError as error:
        return error.compacted
    finally:
        stream.close()
    return 0

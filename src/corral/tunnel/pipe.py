"""The bytes between a stream the peer opened and the connection dialed for it.

Once the accepting side has dialed, two copies run until both directions
end: dialed connection → stream, and stream → dialed connection. An EOF is
passed on as a half-close each way (to a connection that cannot half-close,
such as TLS, the peer's EOF just ends our writes). What ends the pipe
decides what the session does next:

- the tunnel side ended (the peer closed or reset the stream, the session
  closed): `pipe` returns; closing the dialed connection is all there is to do;
- the dialed connection failed: `pipe` raises `TargetBroke`, and the session
  resets the stream so the opener learns it.
"""

from __future__ import annotations

import asyncio

import anyio
import anyio.abc

from corral.tunnel.errors import TunnelError
from corral.tunnel.stream import Stream


class TargetBroke(Exception):
    """The connection dialed for the peer failed (internal to the session)."""


async def pipe(stream: Stream, target: anyio.abc.ByteStream, size: int) -> None:
    """Copy both ways in chunks of at most ``size`` until both directions end."""
    broke = False
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_to_stream(target, stream, size))
            group.create_task(_to_target(stream, target, size))
    except* TargetBroke:
        broke = True
    except* (TunnelError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    if broke:
        raise TargetBroke


async def _to_stream(target: anyio.abc.ByteStream, stream: Stream, size: int) -> None:
    while True:
        try:
            data = await target.receive(size)
        except anyio.EndOfStream:
            await stream.send_eof()
            return
        except Exception as exc:
            raise TargetBroke from exc
        await stream.send(data)


async def _to_target(stream: Stream, target: anyio.abc.ByteStream, size: int) -> None:
    while True:
        try:
            data = await stream.receive(size)
        except anyio.EndOfStream:
            try:
                await target.send_eof()
            except NotImplementedError:
                pass  # the target cannot half-close (TLS): the peer's EOF just stops our writes
            except Exception as exc:
                raise TargetBroke from exc
            return
        try:
            await target.send(data)
        except Exception as exc:
            raise TargetBroke from exc


def describe(exc: BaseException) -> str:
    """Why a dial failed, in words fit for the opener (no addresses beyond its own request)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__

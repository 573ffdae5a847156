"""One stream of a session: an `anyio.abc.ByteStream` with credit-based flow control.

Flow control decides two things:

- **Receiving.** A stream grants its peer a window (``window`` bytes) when it
  opens; the peer may send only that much beyond what this side has
  consumed. Received data waits in a buffer that can therefore never hold
  more than ``window`` bytes; a peer that sends beyond its credit breaks the
  protocol (`ProtocolError`, the session closes). As the reader consumes
  data, the consumed bytes are granted back (one WINDOW frame once half a
  window has been consumed), so a reader that stops reading stops its sender
  — and only its sender: other streams, and the session's reader loop, go on.
- **Sending.** ``send`` cuts data into frames of at most ``frame_size`` bytes
  and waits whenever its credit (the peer's window) is used up.

Ends: ``send_eof`` half-closes (the peer's reads end with `anyio.EndOfStream`
once it has read everything; this side may still read). ``aclose`` ends the
stream for both directions; the peer's reads then end after the data already
sent, and its writes fail with `StreamReset`. A reset by the peer
(`StreamReset`, buffered data dropped) or the end of the session
(`TunnelClosed`, buffered data still readable) fails reads and writes. All of
those are `anyio.BrokenResourceError`, what byte-stream consumers expect.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

import anyio
import anyio.abc

from corral.tunnel import frames
from corral.tunnel.errors import ProtocolError, StreamReset, TunnelError
from corral.tunnel.frames import FrameType


class StreamOwner(Protocol):
    """What a stream needs from its session (implemented by `Session`)."""

    frame_size: int

    def queue_control(self, frame: bytes) -> None:
        """Send a control frame ahead of queued data (never waits)."""
        ...

    async def queue_data(self, frame: bytes) -> None:
        """Send a frame after those already queued; waits for room in the send queue."""
        ...

    def queue_final(self, frame: bytes) -> None:
        """Send a frame after those already queued, without waiting (the stream's last)."""
        ...

    def forget(self, stream: Stream) -> None:
        """The stream is over: drop it from the session's table."""
        ...

    def count_sent(self, size: int) -> None: ...

    def count_received(self, size: int) -> None: ...


class Stream(anyio.abc.ByteStream):
    """A bidirectional byte stream multiplexed over a tunnel session."""

    def __init__(
        self, owner: StreamOwner, stream_id: int, host: str, port: int, *, window: int
    ) -> None:
        self._owner = owner
        self.stream_id = stream_id
        self.host = host
        self.port = port
        self._window = window
        self._threshold = max(1, window // 2)
        # Receiving.
        self._buffer: deque[memoryview] = deque()
        self._buffered = 0
        self._allowance = window  # what the peer may still send
        self._unacked = 0  # consumed, not yet granted back
        self._eof_received = False
        self._readable = asyncio.Event()
        # Sending.
        self._credit = 0
        self._credit_event = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._eof_sent = False
        # Life.
        self._connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed = False  # aclose() was called here
        self._finished = False  # nothing more to tell the peer (closed, reset, refused)
        self._read_error: TunnelError | None = None
        self._write_error: TunnelError | None = None
        self.counted = False  # counted in the open-streams gauge

    def __repr__(self) -> str:
        return f"<Stream {self.stream_id} {self.host}:{self.port}>"

    # -- the ByteStream interface --------------------------------------------

    async def receive(self, max_bytes: int = 65536) -> bytes:
        while not self._buffer:
            if self._closed:
                raise anyio.ClosedResourceError
            if self._read_error is not None:
                raise self._read_error
            if self._eof_received:
                raise anyio.EndOfStream
            self._readable.clear()
            await self._readable.wait()
        chunk = self._buffer[0]
        if len(chunk) <= max_bytes:
            self._buffer.popleft()
        else:
            self._buffer[0] = chunk[max_bytes:]
            chunk = chunk[:max_bytes]
        size = len(chunk)
        self._buffered -= size
        self._unacked += size
        if self._unacked >= self._threshold and not (self._eof_received or self._finished):
            self._owner.queue_control(
                frames.encode_window(FrameType.WINDOW, self.stream_id, self._unacked)
            )
            self._allowance += self._unacked
            self._unacked = 0
        return bytes(chunk)

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        total = len(view)
        async with self._send_lock:
            offset = 0
            while offset < total:
                self._check_writable()
                if self._credit <= 0:
                    self._credit_event.clear()
                    await self._credit_event.wait()
                    continue
                size = min(self._credit, self._owner.frame_size, total - offset)
                self._credit -= size
                await self._owner.queue_data(
                    frames.encode(FrameType.DATA, self.stream_id, view[offset : offset + size])
                )
                self._owner.count_sent(size)
                offset += size

    async def send_eof(self) -> None:
        async with self._send_lock:
            if self._eof_sent:
                return
            self._check_writable()
            self._eof_sent = True
            await self._owner.queue_data(frames.encode(FrameType.EOF, self.stream_id))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._finished:
            self._finished = True
            self._owner.queue_final(frames.encode(FrameType.CLOSE, self.stream_id))
        self._owner.forget(self)
        self._wake()

    # -- what the session tells the stream -----------------------------------

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read (never more than the window)."""
        return self._buffered

    @property
    def finished(self) -> bool:
        """True once the stream needs nothing more from the session."""
        return self._finished

    async def wait_connected(self) -> None:
        await self._connected

    def on_connected(self, credit: int) -> None:
        """The peer accepted the stream and granted ``credit`` bytes."""
        self._credit = credit
        if not self._connected.done():
            self._connected.set_result(None)

    def on_data(self, payload: memoryview) -> None:
        size = len(payload)
        if self._eof_received:
            raise ProtocolError(f"DATA on stream {self.stream_id} after its EOF")
        if size > self._allowance:
            raise ProtocolError(
                f"stream {self.stream_id} sent {size} bytes beyond its window "
                f"({self._allowance} bytes of credit left)"
            )
        self._allowance -= size
        self._owner.count_received(size)
        if self._closed:
            return
        self._buffer.append(payload)
        self._buffered += size
        self._readable.set()

    def on_window(self, increment: int) -> None:
        self._credit += increment
        if self._credit > frames.MAX_WINDOW:
            raise ProtocolError(f"stream {self.stream_id} credit exceeds {frames.MAX_WINDOW}")
        self._credit_event.set()

    def on_eof(self) -> None:
        self._eof_received = True
        self._readable.set()

    def on_close(self) -> None:
        """The peer closed the stream: reads end after the buffer, writes fail."""
        self._eof_received = True
        self._finished = True
        if self._write_error is None:
            self._write_error = StreamReset(f"stream to {self.host}:{self.port} closed by the peer")
        self._wake()

    def on_reset(self, error: TunnelError) -> None:
        """The stream failed (peer reset, refused dial): drop the buffer, fail everything."""
        self._finished = True
        self._buffer.clear()
        self._buffered = 0
        self._read_error = error
        self._fail(error)

    def terminate(self, error: TunnelError) -> None:
        """The session ended: what was received stays readable, then ``error``."""
        self._finished = True
        self._fail(error)

    def _fail(self, error: TunnelError) -> None:
        if self._read_error is None and not self._eof_received:
            self._read_error = error
        if self._write_error is None:
            self._write_error = error
        if not self._connected.done():
            self._connected.set_exception(error)
            self._connected.exception()  # retrieved: a refused dial nobody awaits is not a bug
        self._wake()

    # -- helpers ---------------------------------------------------------------

    def _wake(self) -> None:
        self._readable.set()
        self._credit_event.set()

    def _check_writable(self) -> None:
        if self._closed or self._eof_sent:
            raise anyio.ClosedResourceError
        if self._write_error is not None:
            raise self._write_error

"""A tunnel session: many concurrent streams over one `MessageSocket`.

What it decides:

- **Tasks.** ``run`` owns everything: a reader loop (decodes frames and
  dispatches them; it never waits on anything but the socket, so no stream
  and no socket write can stall it), a writer (the only task that sends on
  the socket), a keepalive pinger, and one task per stream the peer opened
  (the dial through ``accept``, then the pipe between the stream and the
  dialed connection). When the socket closes, a frame breaks the protocol,
  keepalive times out, or ``close()`` is called, every stream fails
  (`TunnelClosed`), every task is cancelled and awaited, every dialed
  connection is closed, and ``run`` returns; ``error`` says why.
- **Sending order.** Control frames (CONNECT, CONNECT_OK, WINDOW, ERROR,
  PING/PONG) jump ahead of data, so a credit grant is never stuck behind
  another stream's megabytes. DATA, EOF and CLOSE keep their order per
  stream. At most ``send_queue`` data frames wait for the socket; senders
  beyond that wait their turn (FIFO), so memory stays bounded by
  ``send_queue * frame_size`` plus each stream's receive window.
- **Ids.** The ``server`` role opens even stream ids, the ``client`` role odd
  ones, increasing and never reused, so both may open streams at once.
  A frame for a stream that is already over is ignored (the peer may not have
  heard yet); one for a stream that never existed is a protocol error.
- **Keepalive.** Every ``keepalive_interval`` seconds a PING goes out; without
  its PONG within ``keepalive_timeout`` the session closes. (WebSocket
  pings are not used: the session does not know which transport it has.)
- **Dials for the peer.** A CONNECT runs ``accept(host, port)``; a
  `DialRefused` (or a connection failure) travels back as an ERROR frame
  whose text the opener gets as `DialRefused`. A session without ``accept``
  refuses every CONNECT. At most ``max_streams`` streams are open at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
from collections import deque
from collections.abc import Coroutine
from typing import Any, Literal

import anyio
import anyio.abc

from corral.tunnel import frames
from corral.tunnel.errors import (
    DialRefused,
    DialTimeout,
    ProtocolError,
    StreamReset,
    TunnelClosed,
    TunnelError,
)
from corral.tunnel.frames import Frame, FrameType
from corral.tunnel.metrics import RoleMetrics, TunnelMetrics, default_metrics
from corral.tunnel.pipe import TargetBroke, describe, pipe
from corral.tunnel.sockets import Acceptor, MessageSocket
from corral.tunnel.stream import Stream

log = logging.getLogger("corral.tunnel")

Role = Literal["server", "client"]

DEFAULT_WINDOW = 4 * 1024 * 1024
DEFAULT_FRAME_SIZE = 128 * 1024
DEFAULT_SEND_QUEUE = 8
DEFAULT_MAX_STREAMS = 8192
DEFAULT_KEEPALIVE_INTERVAL = 20.0
DEFAULT_KEEPALIVE_TIMEOUT = 20.0

#: Control frames waiting for the socket beyond which the peer is deemed stuck.
CONTROL_BACKLOG = 65536

#: WebSocket close codes the session uses.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INTERNAL_ERROR = 1011


class Session:
    """One tunnel over one socket; see the module docstring."""

    def __init__(
        self,
        socket: MessageSocket,
        *,
        name: str,
        accept: Acceptor | None = None,
        role: Role = "server",
        window: int = DEFAULT_WINDOW,
        frame_size: int = DEFAULT_FRAME_SIZE,
        send_queue: int = DEFAULT_SEND_QUEUE,
        max_streams: int = DEFAULT_MAX_STREAMS,
        keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
        metrics: TunnelMetrics | None = None,
    ) -> None:
        if role not in ("server", "client"):
            raise ValueError("role must be 'server' or 'client'")
        if not 0 < window <= frames.MAX_WINDOW:
            raise ValueError(f"window must be 1..{frames.MAX_WINDOW}")
        if not 0 < frame_size <= frames.MAX_DATA:
            raise ValueError(f"frame_size must be 1..{frames.MAX_DATA}")
        self.name = name
        self.role: Role = role
        self.frame_size = frame_size
        self._socket = socket
        self._accept = accept
        self._window = window
        self._max_streams = max_streams
        self._keepalive_interval = keepalive_interval
        self._keepalive_timeout = keepalive_timeout
        self._metrics: RoleMetrics = (metrics or default_metrics()).role(role)
        # Streams: ours have our parity, theirs the other.
        self._streams: dict[int, Stream] = {}
        self._next_id = 2 if role == "server" else 1
        self._last_peer_id = 0
        # Sending.
        self._control: deque[bytes] = deque()
        self._data: deque[tuple[bytes, bool]] = deque()
        self._slots = asyncio.Semaphore(send_queue)
        self._wake_writer = asyncio.Event()
        self._pong: bytes | None = None
        # Keepalive.
        self._pings = itertools.count(1)
        self._ping_payload = b""
        self._pong_received = asyncio.Event()
        self.pings_answered = 0
        """Keepalive pings the peer has answered so far."""
        # Life.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: list[asyncio.Task[Any]] = []
        self._dials: dict[int, asyncio.Task[Any]] = {}  # peer streams still being dialed
        self._started = False
        self._closed = False
        self._stop = asyncio.Event()
        self._done = asyncio.Event()
        self._close_code = CLOSE_NORMAL
        self.error: BaseException | None = None
        """Why the session ended (None while running, or after a local ``close()``)."""

    def __repr__(self) -> str:
        return f"<Session {self.name} {self.role} streams={len(self._streams)}>"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def stream_count(self) -> int:
        """Streams in the session's table now (connecting or open)."""
        return len(self._streams)

    # -- life ------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until the socket closes (or ``close()``); then tear everything down."""
        if self._closed:
            return  # closed before it ran: nothing to serve
        if self._started:
            raise RuntimeError("Session.run() may be called once")
        self._started = True
        self._metrics.sessions.inc()
        try:
            main = self._main = [
                self._spawn(self._read_loop()),
                self._spawn(self._write_loop()),
                self._spawn(self._stop.wait()),
            ]
            if self._keepalive_interval is not None:
                main.append(self._spawn(self._keepalive_loop()))
            done, _ = await asyncio.wait(main, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled():
                    self._record(task.exception())
        finally:
            await self._teardown()
            self._metrics.sessions.dec()

    async def close(self) -> None:
        """Close the socket and end every stream; returns once all is torn down."""
        if not self._started:
            self._started = True
            await self._teardown()
            return
        self._stop.set()
        await self._done.wait()

    async def wait_closed(self) -> None:
        """Return once the session has ended and been torn down."""
        await self._done.wait()

    def _record(self, exc: BaseException | None) -> None:
        if exc is None or self.error is not None:
            return
        self.error = exc
        if isinstance(exc, ProtocolError):
            self._close_code = CLOSE_PROTOCOL_ERROR
            log.warning("tunnel %s: protocol error: %s", self.name, exc)
        elif isinstance(exc, TunnelClosed):
            self._close_code = CLOSE_GOING_AWAY
            log.info("tunnel %s closed: %s", self.name, exc)
        else:
            self._close_code = CLOSE_INTERNAL_ERROR
            log.error("tunnel %s failed", self.name, exc_info=exc)

    async def _teardown(self) -> None:
        if self._closed:
            await self._done.wait()
            return
        self._closed = True
        reason = TunnelClosed(
            f"tunnel {self.name} closed" + (f": {self.error}" if self.error else "")
        )
        for stream in list(self._streams.values()):
            stream.terminate(reason)
            self._count_closed(stream)
        self._streams.clear()
        self._slots.release()  # waiters wake, see the session closed, pass it on
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self._socket.close(self._close_code)
        self._done.set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """Forget a finished task; an error that ``run`` will not see ends the session."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, so asyncio never reports it as lost
        if exc is None or self._closed:
            return
        if task in self._main:
            self._record(exc)
            self._stop.set()
        else:
            log.error("tunnel %s: a stream task failed", self.name, exc_info=exc)

    # -- opening streams -------------------------------------------------------

    async def open_stream(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - the dial's own timeout (Contract 2)
    ) -> Stream:
        """A stream to ``host:port`` as dialed by the peer.

        Raises `DialRefused` with the peer's reason, `DialTimeout` without
        an answer in ``timeout`` seconds, `TunnelClosed` when the session is
        (or becomes) closed.
        """
        if self._closed:
            raise TunnelClosed(f"tunnel {self.name} is closed")
        stream_id = self._next_id
        if stream_id > frames.MAX_STREAM_ID:
            raise TunnelError(f"tunnel {self.name} has used up its stream ids")
        request = frames.encode_connect(stream_id, self._window, host, port)
        self._next_id += 2
        stream = Stream(self, stream_id, host, port, window=self._window)
        self._streams[stream_id] = stream
        self.queue_control(request)
        try:
            async with asyncio.timeout(timeout):
                await stream.wait_connected()
        except TimeoutError:
            await stream.aclose()
            raise DialTimeout(f"no answer to dial {host}:{port} within {timeout:g}s") from None
        except BaseException:
            await stream.aclose()
            raise
        self._metrics.opened_local.inc()
        self._count_open(stream)
        return stream

    # -- the StreamOwner side --------------------------------------------------

    def _ended(self) -> bool:
        return self._closed

    def queue_control(self, frame: bytes) -> None:
        if self._closed:
            return
        if len(self._control) >= CONTROL_BACKLOG:
            # Only a peer that sends requests without reading our answers gets here.
            self._record(TunnelClosed("the peer does not read its socket (control backlog full)"))
            self._stop.set()
            return
        self._control.append(frame)
        self._wake_writer.set()

    async def queue_data(self, frame: bytes) -> None:
        if self._closed:
            raise TunnelClosed(f"tunnel {self.name} is closed")
        await self._slots.acquire()
        if self._ended():  # closed while we waited: pass the wake-up on
            self._slots.release()
            raise TunnelClosed(f"tunnel {self.name} is closed")
        self._data.append((frame, True))
        self._wake_writer.set()

    def queue_final(self, frame: bytes) -> None:
        if self._closed:
            return
        self._data.append((frame, False))
        self._wake_writer.set()

    def forget(self, stream: Stream) -> None:
        if self._streams.get(stream.stream_id) is stream:
            del self._streams[stream.stream_id]
        self._count_closed(stream)

    def count_sent(self, size: int) -> None:
        self._metrics.bytes_sent.inc(size)

    def count_received(self, size: int) -> None:
        self._metrics.bytes_received.inc(size)

    def _count_open(self, stream: Stream) -> None:
        if not stream.counted and not stream.finished:
            stream.counted = True
            self._metrics.streams.inc()

    def _count_closed(self, stream: Stream) -> None:
        if stream.counted:
            stream.counted = False
            self._metrics.streams.dec()

    # -- the loops -------------------------------------------------------------

    async def _write_loop(self) -> None:
        send = self._socket.send
        control, data = self._control, self._data
        while True:
            if self._pong is not None:
                pong, self._pong = self._pong, None
                await send(frames.encode(FrameType.PONG, 0, pong))
            elif control:
                await send(control.popleft())
            elif data:
                frame, holds_slot = data.popleft()
                try:
                    await send(frame)
                finally:
                    if holds_slot:
                        self._slots.release()
            else:
                self._wake_writer.clear()
                await self._wake_writer.wait()

    async def _read_loop(self) -> None:
        receive = self._socket.receive
        while True:
            frame = frames.decode(await receive())
            if frame.type is FrameType.DATA:
                self._stream_for(frame).on_data(memoryview(frame.payload))
            else:
                self._dispatch(frame)

    def _dispatch(self, frame: Frame) -> None:
        type_ = frame.type
        if type_ is FrameType.PING:
            self._pong = bytes(frame.payload)
            self._wake_writer.set()
        elif type_ is FrameType.PONG:
            if bytes(frame.payload) == self._ping_payload and not self._pong_received.is_set():
                self.pings_answered += 1
                self._pong_received.set()
        elif type_ is FrameType.CONNECT:
            self._on_connect(frame)
        elif type_ is FrameType.CONNECT_OK:
            self._on_connect_ok(frame)
        elif type_ is FrameType.WINDOW:
            stream = self._stream_for(frame)
            if stream is not _IGNORED:
                stream.on_window(frames.amount(frame))
        elif type_ is FrameType.EOF:
            self._stream_for(frame).on_eof()
        elif type_ is FrameType.CLOSE:
            stream = self._stream_for(frame)
            if stream is not _IGNORED:
                stream.on_close()
                self.forget(stream)
                dial = self._dials.pop(frame.stream_id, None)
                if dial is not None:
                    dial.cancel()  # the opener gave up: so does the dial
        elif type_ is FrameType.ERROR:
            stream = self._stream_for(frame)
            if stream is not _IGNORED:
                reason = frames.reason(frame)
                connecting = stream.stream_id % 2 == self._next_id % 2 and not stream.counted
                stream.on_reset(DialRefused(reason) if connecting else StreamReset(reason))
                self.forget(stream)

    def _stream_for(self, frame: Frame) -> Stream:
        """The stream a frame is for; a sink for streams that are over; else ProtocolError."""
        stream = self._streams.get(frame.stream_id)
        if stream is not None:
            if not stream.counted and frame.type not in (FrameType.ERROR, FrameType.CLOSE):
                raise ProtocolError(
                    f"{frame.type.name} on stream {frame.stream_id} before it was accepted"
                )
            return stream
        if self._was_used(frame.stream_id):
            ignored: Stream = _IGNORED
            return ignored
        raise ProtocolError(f"{frame.type.name} frame for unknown stream {frame.stream_id}")

    def _was_used(self, stream_id: int) -> bool:
        if stream_id % 2 == self._next_id % 2:
            return stream_id < self._next_id
        return stream_id <= self._last_peer_id

    def _on_connect(self, frame: Frame) -> None:
        stream_id = frame.stream_id
        if stream_id % 2 == self._next_id % 2:
            raise ProtocolError(f"CONNECT with stream id {stream_id}, which is ours to use")
        if stream_id <= self._last_peer_id:
            raise ProtocolError(f"CONNECT reuses stream id {stream_id}")
        self._last_peer_id = stream_id
        request = frames.connect_request(frame)
        if self._accept is None:
            self._refuse(stream_id, "this side of the tunnel accepts no streams")
            return
        if len(self._streams) >= self._max_streams:
            self._refuse(stream_id, f"too many streams (at most {self._max_streams})")
            return
        stream = Stream(self, stream_id, request.host, request.port, window=self._window)
        stream.on_connected(request.window)
        self._streams[stream_id] = stream
        self._dials[stream_id] = self._spawn(self._serve_peer_stream(stream, self._accept))

    def _on_connect_ok(self, frame: Frame) -> None:
        stream_id = frame.stream_id
        if stream_id % 2 != self._next_id % 2:
            raise ProtocolError(f"CONNECT_OK for stream {stream_id}, which we did not open")
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id < self._next_id:
                return  # we gave up on it; our CLOSE is on its way
            raise ProtocolError(f"CONNECT_OK for unknown stream {stream_id}")
        if stream.counted:
            raise ProtocolError(f"second CONNECT_OK for stream {stream_id}")
        stream.on_connected(frames.amount(frame))
        self._count_open(stream)

    def _refuse(self, stream_id: int, reason: str) -> None:
        self._metrics.refusals.inc()
        self.queue_control(frames.encode_error(stream_id, reason))

    async def _serve_peer_stream(self, stream: Stream, accept: Acceptor) -> None:
        """Dial for the peer, then pipe bytes both ways until both directions end."""
        host, port = stream.host, stream.port
        target: anyio.abc.ByteStream | None = None
        try:
            try:
                try:
                    target = await accept(host, port)
                finally:
                    self._dials.pop(stream.stream_id, None)
            except DialRefused as exc:
                self._refuse_stream(stream, str(exc))
                return
            except (OSError, anyio.BrokenResourceError, TimeoutError) as exc:
                self._refuse_stream(stream, f"dial {host}:{port} failed: {describe(exc)}")
                return
            except Exception:
                log.exception("tunnel %s: dialing %s:%s failed", self.name, host, port)
                self._refuse_stream(
                    stream, f"dial {host}:{port} failed (see the log of the dialing side)"
                )
                return
            if stream.finished:
                return  # the opener gave up meanwhile
            self.queue_control(
                frames.encode_window(FrameType.CONNECT_OK, stream.stream_id, self._window)
            )
            self._metrics.opened_peer.inc()
            self._count_open(stream)
            await self._pipe(stream, target)
        finally:
            if target is not None:
                await anyio.aclose_forcefully(target)
            await stream.aclose()

    def _refuse_stream(self, stream: Stream, reason: str) -> None:
        if not stream.finished:
            self._refuse(stream.stream_id, reason)
        stream.on_reset(DialRefused(reason))
        self.forget(stream)

    async def _pipe(self, stream: Stream, target: anyio.abc.ByteStream) -> None:
        try:
            await pipe(stream, target, self.frame_size)
        except TargetBroke:
            if not stream.finished:
                reason = f"connection to {stream.host}:{stream.port} broke"
                self.queue_control(frames.encode_error(stream.stream_id, reason))
                stream.on_reset(StreamReset(reason))
                self.forget(stream)

    async def _keepalive_loop(self) -> None:
        assert self._keepalive_interval is not None
        while True:
            await asyncio.sleep(self._keepalive_interval)
            self._ping_payload = _PING.pack(next(self._pings))
            self._pong_received.clear()
            self.queue_control(frames.encode(FrameType.PING, 0, self._ping_payload))
            try:
                async with asyncio.timeout(self._keepalive_timeout):
                    await self._pong_received.wait()
            except TimeoutError:
                raise TunnelClosed(
                    f"keepalive: no pong within {self._keepalive_timeout:g}s"
                ) from None


_PING = struct.Struct("!Q")


class _Sink:
    """Takes the frames of streams that are already over (they are dropped)."""

    stream_id = 0
    counted = True

    def on_data(self, payload: memoryview) -> None:
        pass

    def on_eof(self) -> None:
        pass


_IGNORED: Any = _Sink()

"""The tunnel's one error hierarchy.

Every failure the tunnel reports is a `TunnelError`. Those that a byte-stream
consumer (httpcore, `anyio.streams.tls.TLSStream`) must understand as "this
connection broke" also derive from `anyio.BrokenResourceError`, so code written
for any `anyio.abc.ByteStream` handles a tunnelled stream without knowing it::

    TunnelError
    ├── TunnelClosed     the session (its socket) is gone; also BrokenResourceError
    ├── StreamReset      the peer reset this one stream; also BrokenResourceError
    ├── DialRefused      the peer would not (or could not) dial for us
    │   └── DialTimeout  no answer to the dial within the timeout
    └── ProtocolError    the peer sent a frame that breaks the protocol

Messages never carry secrets: they name addresses, stream ids and reasons.
"""

from __future__ import annotations

import anyio


class TunnelError(Exception):
    """Base of every error of `corral.tunnel`."""


class TunnelClosed(TunnelError, anyio.BrokenResourceError):
    """The session is closed: its socket went away, or it was closed locally."""


class StreamReset(TunnelError, anyio.BrokenResourceError):
    """The stream was torn down by the peer (its far end failed or was reset)."""


class DialRefused(TunnelError):
    """The peer refused to open a stream to the requested address; the message says why."""


class DialTimeout(DialRefused):
    """The peer did not answer a stream request in time."""


class ProtocolError(TunnelError):
    """A malformed or out-of-place frame; the session that received it is closed."""

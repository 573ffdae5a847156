"""`SessionDialer`: the ``corral.client.dialing.Dialer`` shape over a tunnel session.

It satisfies that protocol structurally (the tunnel does not import the
client: same layer, DESIGN §2). ``dial`` opens a stream the peer dials; a
refusal, a timeout or a closed session is reported through ``error`` — by
default the tunnel's own `DialRefused`/`TunnelClosed`; the code that builds
a ``ClusterAccess`` passes ``error=ClusterUnavailable`` so the client sees
the error its `Dialer` contract names.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio.abc

from corral.tunnel.errors import DialRefused, TunnelClosed
from corral.tunnel.session import Session


class SessionDialer:
    """Opens byte streams through ``session``: addresses as seen by the peer."""

    def __init__(
        self,
        session: Session,
        *,
        timeout: float = 10.0,
        error: Callable[[str], Exception] | None = None,
    ) -> None:
        self.session = session
        self._timeout = timeout
        self._error = error

    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        try:
            return await self.session.open_stream(host, port, timeout=self._timeout)
        except (DialRefused, TunnelClosed) as exc:
            if self._error is None:
                raise
            raise self._error(f"tunnel {self.session.name}: {exc}") from exc

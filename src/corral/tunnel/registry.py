"""`SessionRegistry`: which live session serves which key (a cluster id), on one replica.

One session per key: an agent that reconnects before its old socket is
noticed as dead replaces it — ``add`` closes the older session (in the
background; its streams fail with `TunnelClosed`). ``remove`` takes only the
session given, so an old session ending late never removes its successor.
``wait_for`` lets a caller wait (bounded) for an agent to (re)connect.
"""

from __future__ import annotations

import asyncio
from typing import Any

from corral.tunnel.session import Session


class SessionRegistry:
    """Key → live `Session`; see the module docstring."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._changed = asyncio.Condition()
        self._closing: set[asyncio.Task[Any]] = set()

    def add(self, key: str, session: Session) -> None:
        """Make ``session`` the one for ``key``; an older one is closed."""
        older = self._sessions.get(key)
        self._sessions[key] = session
        if older is not None and older is not session:
            task = asyncio.get_running_loop().create_task(older.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self._notify()

    def remove(self, key: str, session: Session) -> bool:
        """Drop ``session`` if it is still the one for ``key``; True if it was."""
        if self._sessions.get(key) is session:
            del self._sessions[key]
            self._notify()
            return True
        return False

    def get(self, key: str) -> Session | None:
        """The live session for ``key``, or None (a closed one counts as none)."""
        session = self._sessions.get(key)
        if session is None or session.closed:
            return None
        return session

    def keys(self) -> list[str]:
        """Keys with a live session."""
        return [key for key, session in self._sessions.items() if not session.closed]

    def __len__(self) -> int:
        return len(self.keys())

    async def wait_for(
        self,
        key: str,
        timeout: float,  # noqa: ASYNC109 - a bounded wait is the point of this helper
    ) -> Session | None:
        """The live session for ``key``, waiting up to ``timeout`` seconds for one."""
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    while (session := self.get(key)) is None:
                        await self._changed.wait()
                    return session
        except TimeoutError:
            return None

    async def close(self) -> None:
        """Close every session (server shutdown)."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        await asyncio.gather(*(s.close() for s in sessions), *self._closing)

    def _notify(self) -> None:
        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        task = asyncio.get_running_loop().create_task(notify())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

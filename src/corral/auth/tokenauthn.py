"""The Corral token authenticator: a presented token → the User it belongs to.

For every request carrying a Corral token (`corral.auth.corraltokens`) it
decides, from objects the watch caches keep current (a `TokenIndex`, never a
datastore read per request):

- the ``Token`` named in the token string exists, is ``enabled`` (not
  false), its secret matches the stored salted hash, and it has not expired
  (``expiresAt``) nor, for ``session`` tokens, been idle longer than the idle
  timeout;
- its ``User`` (``userId``) exists and is not disabled (``enabled: false``):
  disabling a user stops every token of theirs on the next request, and
  deleting a Token revokes it as soon as the watch delivers the delete.

The user is ``name=<username>``, ``uid=<the User's metadata.uid>``, groups
``system:authenticated`` and ``corral:local`` (the local provider).

Use is recorded by `UsageRecorder`: in memory on every request, written
back to the Token's ``lastUsedAt`` at most once per `USAGE_WRITE_INTERVAL`
per token by one background task (no write on the request path). The parsed
form of a Token (its hash, expiry) is kept per resourceVersion, so a request
parses nothing. Memory is bounded by the number of existing tokens: entries
of tokens gone from the cache are dropped when next looked up or flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from corral.auth.corraltokens import presented_token, secret_matches
from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo

log = logging.getLogger("corral.auth")

#: Group of every user of the local identity provider.
LOCAL_GROUP = "corral:local"
#: Seconds between two writes of one token's ``lastUsedAt``.
USAGE_WRITE_INTERVAL = 60.0


class TokenIndex(Protocol):
    """Current ``Token`` and ``User`` objects by name (watch caches)."""

    async def token(self, name: str) -> Mapping[str, Any] | None: ...

    async def user(self, name: str) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class _ParsedToken:
    resource_version: str
    token_hash: str
    user: str
    enabled: bool
    expires_at: float | None  # epoch seconds
    session: bool
    last_used: float | None


def parse_time(value: Any) -> float | None:
    """An RFC 3339 timestamp as epoch seconds, or None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(obj: Mapping[str, Any]) -> _ParsedToken:
    meta = obj.get("metadata") or {}
    return _ParsedToken(
        resource_version=str(meta.get("resourceVersion", "")),
        token_hash=str(obj.get("tokenHash") or ""),
        user=str(obj.get("userId") or ""),
        enabled=obj.get("enabled") is not False,
        expires_at=parse_time(obj.get("expiresAt")),
        session=obj.get("tokenKind") == "session",
        last_used=parse_time(obj.get("lastUsedAt")),
    )


class UsageRecorder:
    """Remembers when each token was last used; writes ``lastUsedAt`` rarely.

    ``write(name, timestamp)`` stores one token's ``lastUsedAt`` (the
    management package patches the Token, ignoring a Token that is gone); a
    failed write is logged and tried again on the next flush.
    """

    def __init__(
        self,
        write: Callable[[str, str], Awaitable[None]],
        *,
        interval: float = USAGE_WRITE_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._write = write
        self._interval = interval
        self._clock = clock
        self._used: dict[str, float] = {}
        self._written: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def used(self, name: str) -> None:
        self._used[name] = self._clock()

    def last_used(self, name: str) -> float | None:
        return self._used.get(name)

    def forget(self, name: str) -> None:
        self._used.pop(name, None)
        self._written.pop(name, None)

    async def flush(self) -> int:
        """Write every use not written within the interval; the number written."""
        now = self._clock()
        due = [
            (name, at)
            for name, at in self._used.items()
            if at > self._written.get(name, 0.0)
            and now - self._written.get(name, 0.0) >= self._interval
        ]
        for name, at in due:
            try:
                await self._write(name, rfc3339(at))
            except Exception as exc:  # a busy store: tried again on the next flush
                log.info("lastUsedAt not recorded", extra={"token": name, "error": str(exc)})
                continue
            self._written[name] = now
        return len(due)

    def start(self, period: float = 5.0) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(period)
                await self.flush()

        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(loop(), name="token-usage")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class CorralTokenAuthenticator:
    """Accepts Corral tokens (Bearer, Basic, session cookie) of enabled users."""

    def __init__(
        self,
        index: TokenIndex,
        usage: UsageRecorder | None = None,
        *,
        idle_timeout: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._index = index
        self._usage = usage
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._parsed: dict[str, _ParsedToken] = {}

    async def authenticate(self, headers: Mapping[str, str]) -> UserInfo | None:
        presented = presented_token(headers)
        if presented is None:
            return None
        token = await self._token(presented.name)
        if token is None or not token.enabled:
            return None
        if not secret_matches(token.token_hash, presented.secret):
            return None
        now = self._clock()
        if token.expires_at is not None and now >= token.expires_at:
            return None
        if token.session and self._idle_timeout:
            last = max(
                (self._usage.last_used(presented.name) if self._usage else None) or 0.0,
                token.last_used or 0.0,
            )
            if last and now - last > self._idle_timeout:
                return None
        user = await self._index.user(token.user)
        if user is None or user.get("enabled") is False:
            return None
        if self._usage is not None:
            self._usage.used(presented.name)
        uid = str((user.get("metadata") or {}).get("uid", ""))
        return UserInfo(name=token.user, uid=uid, groups=(AUTHENTICATED_GROUP, LOCAL_GROUP))

    async def _token(self, name: str) -> _ParsedToken | None:
        obj = await self._index.token(name)
        if obj is None:
            self._parsed.pop(name, None)
            if self._usage is not None:
                self._usage.forget(name)
            return None
        rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        parsed = self._parsed.get(name)
        if parsed is None or parsed.resource_version != rv:
            parsed = _parse(obj)
            self._parsed[name] = parsed
        return parsed

"""Issuing, listing and revoking Corral tokens.

Decisions:

- `TokenTTLs` holds the lifetimes (server settings): a login session lives
  `session` seconds (less if the login asks), a kubeconfig token
  `kubeconfig`, an API key what its user asks for — never more than
  `maximum` (0 asked means the maximum; a `maximum` of 0 means no limit).
  ``ttl`` is stored in milliseconds (as Rancher does) and ``expiresAt`` as
  RFC 3339; the authenticator enforces ``expiresAt``.
- A new token's name is random (``token-xxxxx``); a name already taken is
  retried with another (`ISSUE_ATTEMPTS`).
- Every Token carries the label `USER_LABEL` so "my tokens" is a label
  selector on the watch cache, never a scan.
- `public_view` is what users see of a Token: never ``tokenHash``; the token
  string itself is shown once, in the answer that creates it.
- Revocation is deleting the Token.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from corral.auth import TokenString, hash_secret, new_token, rfc3339
from corral.client import Client
from corral.machinery.status import AlreadyExists, NotFound
from corral.management.kinds import GROUP, TOKENS

USER_LABEL: Final = "corral.io/user"
ISSUE_ATTEMPTS: Final = 5
_HIDDEN = frozenset({"tokenHash"})


@dataclass(frozen=True, slots=True)
class TokenTTLs:
    """Token lifetimes in seconds; ``idle`` 0 means sessions never idle out."""

    session: int = 16 * 3600
    idle: int = 0
    maximum: int = 90 * 24 * 3600
    kubeconfig: int = 30 * 24 * 3600

    def for_kind(self, kind: str, asked: int = 0) -> int:
        if kind == "session":
            wanted = min(asked, self.session) if asked else self.session
        elif kind == "kubeconfig":
            wanted = self.kubeconfig
        else:
            wanted = asked or self.maximum
        return min(wanted, self.maximum) if self.maximum else wanted


def public_view(token: dict[str, Any]) -> dict[str, Any]:
    """The Token without its hash."""
    return {k: v for k, v in token.items() if k not in _HIDDEN}


class Tokens:
    """Corral tokens, through an in-process client with system rights."""

    def __init__(
        self,
        client: Client,
        ttls: TokenTTLs,
        gone: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._gone = gone
        self.ttls = ttls

    async def issue(
        self, username: str, kind: str, *, ttl: int = 0, description: str = ""
    ) -> tuple[TokenString, dict[str, Any]]:
        """A new token for ``username``: the string (shown once) and the stored Token."""
        seconds = self.ttls.for_kind(kind, ttl)
        now = time.time()
        for _ in range(ISSUE_ATTEMPTS):
            token = new_token()
            body = {
                "apiVersion": f"{GROUP}/v1",
                "kind": "Token",
                "metadata": {"name": token.name, "labels": {USER_LABEL: username}},
                "userId": username,
                "authProvider": "local",
                "tokenKind": kind,
                "isDerived": kind != "session",
                "description": description,
                "ttl": seconds * 1000,
                "expiresAt": rfc3339(now + seconds) if seconds else "",
                "enabled": True,
                "tokenHash": hash_secret(token.secret),
            }
            try:
                return token, await self._client.create(TOKENS, body)
            except AlreadyExists:
                continue
        raise AlreadyExists("tokens", "token-*", group=GROUP)

    async def of_user(self, username: str) -> list[dict[str, Any]]:
        listed = await self._client.list(TOKENS, label_selector=f"{USER_LABEL}={username}")
        return [t for t in listed.get("items", []) if t.get("userId") == username]

    async def get(self, name: str) -> dict[str, Any] | None:
        try:
            return await self._client.get(TOKENS, name)
        except NotFound:
            return None

    async def delete(self, name: str) -> None:
        """Delete Token ``name``; returns once the token index no longer has it."""
        with contextlib.suppress(NotFound):
            await self._client.delete(TOKENS, name)
        if self._gone is not None:
            await self._gone("tokens", name)

    async def record_use(self, name: str, timestamp: str) -> None:
        """``lastUsedAt`` of Token ``name`` (for ``corral.auth.UsageRecorder``)."""
        with contextlib.suppress(NotFound):
            await self._client.patch(TOKENS, name, {"lastUsedAt": timestamp})

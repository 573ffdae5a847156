"""Registration tokens: making them, and finding the cluster a presented token registers.

Decisions (Contract 3):

- A token is 54 characters from ``[a-z0-9]`` (`new_registration_token`),
  from `secrets` (about 279 bits), as Rancher's.
- `RegistrationTokens` keeps an index of every ``ClusterRegistrationToken``
  on every replica (an informer over all namespaces, so the agent's
  ``/v3/connect`` endpoints answer from memory): the key is the SHA-256 of
  the token, never the token, and the stored token is then compared with
  `hmac.compare_digest`, so neither the dict lookup nor the comparison
  tells an attacker how much of a guess was right.
- A token whose ``spec.clusterName`` differs from its namespace, or that is
  being deleted, registers nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import string
from typing import Any, Final

from corral.client import Client
from corral.controller import Informer
from corral.management.clusterkinds import CLUSTER_REGISTRATION_TOKENS

TOKEN_LENGTH: Final = 54
TOKEN_ALPHABET: Final = string.ascii_lowercase + string.digits
#: How long `cluster_for_token` waits for the first list before answering from what it has.
SYNC_WAIT_SECONDS: Final = 5.0


def new_registration_token() -> str:
    """A fresh registration token (54 random ``[a-z0-9]`` characters)."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _entry(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(token, cluster) of a usable token object, else None."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    token = (obj.get("status") or {}).get("token")
    cluster = (obj.get("spec") or {}).get("clusterName")
    if not isinstance(token, str) or not token or not isinstance(cluster, str):
        return None
    if cluster != meta.get("namespace"):
        return None
    return token, cluster


class RegistrationTokens:
    """Which cluster a registration token belongs to, from an informer's index."""

    def __init__(self, client: Client) -> None:
        self._informer = Informer(client, CLUSTER_REGISTRATION_TOKENS)
        self._by_digest: dict[bytes, tuple[str, str]] = {}
        self._digest_of: dict[str, bytes] = {}  # "namespace/name" -> its digest
        self._informer.on_add(self._put)
        self._informer.on_update(lambda _old, new: self._put(new))
        self._informer.on_delete(self._drop)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._informer.run(), name="registration-tokens")

    async def stop(self) -> None:
        if self._task is not None:
            await self._informer.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_for_sync(self, within: float = SYNC_WAIT_SECONDS) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._informer.wait_for_sync()
                return True
        return False

    async def cluster_for_token(self, token: str) -> str | None:
        """The id of the cluster ``token`` registers, or None (unknown, revoked, malformed)."""
        if not token or len(token) > 256:
            return None
        await self.wait_for_sync()
        found = self._by_digest.get(_digest(token))
        if found is None:
            return None
        stored, cluster = found
        return cluster if hmac.compare_digest(stored.encode(), token.encode()) else None

    # -- the index ------------------------------------------------------------

    def _put(self, obj: dict[str, Any]) -> None:
        self._drop(obj)
        entry = _entry(obj)
        if entry is None:
            return
        digest = _digest(entry[0])
        self._by_digest[digest] = entry
        self._digest_of[_key(obj)] = digest

    def _drop(self, obj: dict[str, Any]) -> None:
        digest = self._digest_of.pop(_key(obj), None)
        if digest is not None:
            self._by_digest.pop(digest, None)


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"

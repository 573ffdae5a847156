"""The bootstrap admin token: its stored hash and the authenticator for it.

The first user of a new server is ``admin`` (groups ``system:masters`` and
``system:authenticated``), who holds a random bearer token written into
``admin.kubeconfig``. Only the token's SHA-256 is kept, in the datastore at
`ADMIN_TOKEN_KEY` as ``{"sha256": "<hex>", "created": "<RFC 3339>"}``. The
authenticator hashes each presented token and compares the hashes with
`hmac.compare_digest`, so neither the token nor its hash leaks through
timing. It holds the hash it was built with: the token only changes at
start-up (`corral.auth.admin`), when a new authenticator is built.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from corral.auth.bearer import bearer_token, token_sha256
from corral.auth.errors import BootstrapError
from corral.machinery.authn import AUTHENTICATED_GROUP, MASTERS_GROUP, UserInfo
from corral.storage import Backend, StorageError

ADMIN_TOKEN_KEY = "/corral/bootstrap/admin-token"  # noqa: S105 (a key name, not a secret)

ADMIN_USER = UserInfo(name="admin", groups=(MASTERS_GROUP, AUTHENTICATED_GROUP))


class BootstrapTokenAuthenticator:
    """Accepts exactly the bootstrap admin token, as the ``admin`` user."""

    def __init__(self, token_hash: str) -> None:
        self._hash = token_hash.encode()

    async def authenticate(self, headers: Mapping[str, str]) -> UserInfo | None:
        token = bearer_token(headers)
        if token is None:
            return None
        if hmac.compare_digest(token_sha256(token).encode(), self._hash):
            return ADMIN_USER
        return None


@dataclass(frozen=True, slots=True)
class StoredTokenHash:
    """The stored record: its hash ("" if the record is unusable) and revision."""

    digest: str
    revision: int


async def read_token_hash(backend: Backend) -> StoredTokenHash | None:
    """The stored record, or None if there is none."""
    try:
        kv = await backend.get(ADMIN_TOKEN_KEY)
    except StorageError as exc:
        raise BootstrapError(f"cannot read {ADMIN_TOKEN_KEY}: {exc}") from None
    if kv is None:
        return None
    try:
        digest = orjson.loads(kv.value)["sha256"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        digest = ""
    if not isinstance(digest, str) or len(digest) != 64:
        digest = ""
    return StoredTokenHash(digest, kv.mod_revision)


async def write_token_hash(backend: Backend, digest: str, revision: int | None) -> None:
    """Store ``digest``, replacing the record at ``revision`` (None: create it)."""
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    value = orjson.dumps({"sha256": digest, "created": created})
    try:
        if revision is None:
            await backend.create(ADMIN_TOKEN_KEY, value)
        else:
            await backend.update(ADMIN_TOKEN_KEY, value, expected_revision=revision)
    except StorageError as exc:
        raise BootstrapError(f"cannot store {ADMIN_TOKEN_KEY}: {exc}") from None

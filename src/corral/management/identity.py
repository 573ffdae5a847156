"""Local identity, assembled: what start-up wires into the API server.

`Identity` is built before the HTTPS app (which needs its authenticator,
routes and filters) and started after it (its services act through an
in-process client of that app):

- `authenticator`: Corral tokens (``corral.auth.CorralTokenAuthenticator``)
  over the watch-cache index of Users and Tokens;
- `routes`: login, logout, users, tokens (`IdentityEndpoints`);
- `filters`: the forced password change (`RequirePasswordChange`), to run
  right after authentication;
- `start`: installs the User and Token kinds, the password namespace, the
  ``admin`` user, and starts writing ``lastUsedAt``; it returns the
  bootstrap password when ``admin`` was created now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.pipeline import Filter, Route
from corral.auth import (
    DEFAULT_MIN_LENGTH,
    CorralTokenAuthenticator,
    LoginRateLimiter,
    PasswordHashes,
    PasswordPolicy,
    UsageRecorder,
)
from corral.client import Client
from corral.management.accounts import Accounts
from corral.management.bootstrap import ADMIN_USERNAME, ensure_admin_user, remove_bootstrap_file
from corral.management.endpoints import IdentityEndpoints
from corral.management.index import IdentityIndex
from corral.management.kinds import ensure_kinds
from corral.management.passwordchange import RequirePasswordChange
from corral.management.tokens import Tokens, TokenTTLs


@dataclass(frozen=True, slots=True)
class IdentityOptions:
    """The identity settings of the server."""

    data_dir: Path
    bootstrap_password: str | None = None
    password_min_length: int = DEFAULT_MIN_LENGTH
    ttls: TokenTTLs = field(default_factory=TokenTTLs)


class Identity:
    """Users, passwords and Corral tokens of one server."""

    def __init__(
        self, parts: ServerParts, options: IdentityOptions, hashes: PasswordHashes | None = None
    ) -> None:
        self._options = options
        self._hashes = hashes or PasswordHashes()
        self.index = IdentityIndex(parts)
        self.usage = UsageRecorder(self._record_use)
        self.authenticator = CorralTokenAuthenticator(
            self.index, self.usage, idle_timeout=options.ttls.idle or None
        )
        self.limiter = LoginRateLimiter()
        self.endpoints = IdentityEndpoints(parts, self.limiter, self._password_changed)
        self._tokens: Tokens | None = None

    @property
    def routes(self) -> list[Route]:
        return self.endpoints.routes()

    @property
    def tokens(self) -> Tokens | None:
        """The token service, once `start` made it (kubeconfig tokens for clusters)."""
        return self._tokens

    @property
    def filters(self) -> list[Filter]:
        return [RequirePasswordChange(self.index)]

    async def start(self, client: Client) -> str | None:
        """Install kinds, namespace and admin; the new bootstrap password, if any."""
        await ensure_kinds(client)
        policy = PasswordPolicy(self._options.password_min_length)
        accounts = Accounts(client, self._hashes, policy, self.index.settled)
        await accounts.ensure_namespace()
        self._tokens = Tokens(client, self._options.ttls, self.index.gone)
        self.endpoints.bind(accounts, self._tokens)
        password = await ensure_admin_user(
            accounts, client, self._options.data_dir, self._options.bootstrap_password
        )
        self.usage.start()
        return password

    async def stop(self) -> None:
        await self.usage.stop()
        await self.usage.flush()

    async def _record_use(self, name: str, timestamp: str) -> None:
        if self._tokens is not None:
            await self._tokens.record_use(name, timestamp)

    async def _password_changed(self, username: str) -> None:
        if username == ADMIN_USERNAME:
            await remove_bootstrap_file(self._options.data_dir)

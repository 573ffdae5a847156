"""Local users and their passwords: create, check, change, reset.

Decisions:

- A ``User``'s name is its username: lower-case DNS-1123 label (at most 63
  characters), immutable as every ``metadata.name`` is.
- The argon2id hash lives in the Secret ``<username>`` of namespace
  `PASSWORD_NAMESPACE` (key ``password``), never on the User, so no read of
  a User can return it; the Secrets are what encryption at rest protects.
- Creating a user writes the Secret first, then the User; if the User
  cannot be created the Secret is deleted again, so a failure leaves
  nothing half-written. A Secret left by a User deleted through kubectl is
  overwritten when the user is created again.
- `Accounts.check_login` always spends one argon2 verification — against
  the dummy hash when the user does not exist — and answers None for an
  unknown user, a wrong password and a disabled user alike, so the caller
  gives all three the same answer.
- Input errors are `Invalid` Statuses naming the field; a password is never
  quoted in one.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from corral.auth import PasswordHashes, PasswordPolicy, PasswordPolicyError
from corral.client import Client
from corral.machinery.status import (
    OMITTED,
    AlreadyExists,
    CauseType,
    FieldError,
    Invalid,
    NotFound,
)
from corral.management.kinds import GROUP, NAMESPACES, SECRETS, USERS

PASSWORD_NAMESPACE: Final = "corral-local-user-passwords"  # noqa: S105 (a namespace)
PASSWORD_KEY: Final = "password"  # noqa: S105 (a Secret key name)
_USERNAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


def invalid_user(name: str, field: str, detail: str, value: object = OMITTED) -> Invalid:
    return Invalid("User", name, [FieldError(CauseType.INVALID, field, value, detail)], group=GROUP)


def check_username(username: object) -> str:
    if not isinstance(username, str) or not username:
        raise Invalid("User", "", [FieldError.required("username")], group=GROUP)
    if len(username) > 63 or not _USERNAME.match(username):
        raise invalid_user(
            username,
            "username",
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
            "or '-', start and end with an alphanumeric character, at most 63 characters",
            username,
        )
    return username


class Accounts:
    """Local users, acting through an in-process client with system rights."""

    def __init__(
        self,
        client: Client,
        hashes: PasswordHashes,
        policy: PasswordPolicy,
        settled: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._settled = settled
        self.hashes = hashes
        self.policy = policy

    async def ensure_namespace(self) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PASSWORD_NAMESPACE}}
        with contextlib.suppress(AlreadyExists):
            await self._client.create(NAMESPACES, body)

    async def user(self, username: str) -> dict[str, Any] | None:
        try:
            return await self._client.get(USERS, username)
        except NotFound:
            return None

    def check_password(self, username: str, password: object, current: str | None = None) -> str:
        """``password`` if the policy allows it; `Invalid` naming ``field`` otherwise."""
        field = "newPassword" if current is not None else "password"
        if not isinstance(password, str) or not password:
            raise Invalid("User", username, [FieldError.required(field)], group=GROUP)
        try:
            self.policy.check(password, username=username, current=current)
        except PasswordPolicyError as exc:
            raise invalid_user(username, field, str(exc)) from None
        return password

    async def create(
        self,
        username: object,
        password: object,
        *,
        display_name: str = "",
        description: str = "",
        must_change_password: bool = True,
        check_policy: bool = True,
    ) -> dict[str, Any]:
        """Create the User and its password Secret, both or neither.

        ``check_policy`` False is for the bootstrap password only, which must
        be changed at first login anyway.
        """
        name = check_username(username)
        if check_policy or not isinstance(password, str) or not password:
            secret = self.check_password(name, password)
        else:
            secret = password
        digest = await self.hashes.hash(secret)
        await self._write_hash(name, digest, create_only_if_no_user=True)
        user = {
            "apiVersion": f"{GROUP}/v1",
            "kind": "User",
            "metadata": {"name": name},
            "username": name,
            "displayName": display_name or name,
            "description": description,
            "principalIds": [f"local://{name}"],
            "enabled": True,
            "mustChangePassword": must_change_password,
        }
        try:
            return await self._client.create(USERS, user)
        except Exception:
            with contextlib.suppress(NotFound):
                await self._client.delete(SECRETS, name, namespace=PASSWORD_NAMESPACE)
            raise

    async def set_password(self, username: str, password: str, *, must_change: bool) -> None:
        """Store a new hash for ``username`` and set ``mustChangePassword``."""
        digest = await self.hashes.hash(password)
        await self._write_hash(username, digest, create_only_if_no_user=False)
        user = await self._client.patch(USERS, username, {"mustChangePassword": must_change})
        if self._settled is not None:  # the user's next request sees the change
            await self._settled("users", str(user["metadata"].get("resourceVersion", "")))

    async def check_login(self, username: str, password: str) -> dict[str, Any] | None:
        """The User if ``password`` is theirs and they are enabled, else None."""
        user = await self.user(username) if _USERNAME.match(username) else None
        stored = await self._stored_hash(username) if user is not None else None
        if stored is None:
            await self.hashes.verify_unknown(password)
            return None
        if not await self.hashes.verify(stored, password):
            return None
        if user is None or user.get("enabled") is False:
            return None
        return user

    async def _stored_hash(self, username: str) -> str | None:
        try:
            secret = await self._client.get(SECRETS, username, namespace=PASSWORD_NAMESPACE)
        except NotFound:
            return None
        encoded = (secret.get("data") or {}).get(PASSWORD_KEY)
        if not isinstance(encoded, str):
            return None
        try:
            return base64.b64decode(encoded).decode()
        except (ValueError, UnicodeDecodeError):
            return None

    async def _write_hash(
        self, username: str, digest: str, *, create_only_if_no_user: bool
    ) -> None:
        data = {PASSWORD_KEY: base64.b64encode(digest.encode()).decode()}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": username,
                "namespace": PASSWORD_NAMESPACE,
                "labels": {"corral.io/password-of": username},
            },
            "type": "corral.io/password-hash",
            "data": data,
        }
        try:
            await self._client.create(SECRETS, body, namespace=PASSWORD_NAMESPACE)
            return
        except AlreadyExists:
            if create_only_if_no_user and await self.user(username) is not None:
                raise AlreadyExists("users", username, group=GROUP) from None
        await self._client.patch(SECRETS, username, {"data": data}, namespace=PASSWORD_NAMESPACE)

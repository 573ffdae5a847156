"""Password hashes and the password policy of local users.

Decisions:

- Hashes are argon2id (argon2-cffi's defaults, RFC 9106's low-memory
  profile), as PHC strings that carry their parameters, so a later change
  of cost still verifies old hashes (`PasswordHashes.needs_rehash` says when
  to store a new one).
- Hashing and checking run in a worker thread: each costs tens of
  milliseconds of CPU, which must not stall the event loop.
- `PasswordHashes.verify_unknown` checks a password against a fixed dummy
  hash, so a login for a user that does not exist costs what a wrong
  password costs (no user enumeration by timing).
- The policy is a minimum length (12 by default, ``--password-min-length``)
  and a maximum (256, so nobody makes the server hash a megabyte); a new
  password must also differ from the username and the current password.
  Violations are `PasswordPolicyError` with a message fit for the user,
  which never quotes the password.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from corral.auth.errors import PasswordPolicyError

DEFAULT_MIN_LENGTH = 12
MAX_LENGTH = 256


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """What a new password must satisfy."""

    min_length: int = DEFAULT_MIN_LENGTH

    def check(self, password: str, *, username: str, current: str | None = None) -> None:
        """Raise `PasswordPolicyError` if ``password`` may not be set."""
        if len(password) < self.min_length:
            raise PasswordPolicyError(
                f"the password must be at least {self.min_length} characters long"
            )
        if len(password) > MAX_LENGTH:
            raise PasswordPolicyError(f"the password must be at most {MAX_LENGTH} characters long")
        if password.lower() == username.lower():
            raise PasswordPolicyError("the password must differ from the username")
        if current is not None and password == current:
            raise PasswordPolicyError("the new password must differ from the current one")


class PasswordHashes:
    """argon2id hashing and checking, off the event loop."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash("corral-dummy-password-for-unknown-users")

    async def hash(self, password: str) -> str:
        """The PHC string of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str, password: str) -> bool:
        """True if ``password`` matches the ``stored`` hash (False for a broken hash)."""
        return await asyncio.to_thread(self._verify, stored, password)

    async def verify_unknown(self, password: str) -> bool:
        """Spend what `verify` spends, for a user that does not exist; always False."""
        await asyncio.to_thread(self._verify, self._dummy, password)
        return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

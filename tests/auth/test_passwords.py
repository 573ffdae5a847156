"""argon2id password hashes and the password policy."""

from __future__ import annotations

import pytest

from corral.auth import PasswordHashes, PasswordPolicy, PasswordPolicyError


async def test_hash_verifies_and_is_argon2id() -> None:
    hashes = PasswordHashes()
    stored = await hashes.hash("correct-horse-battery")
    assert stored.startswith("$argon2id$")
    assert "correct-horse-battery" not in stored
    assert await hashes.verify(stored, "correct-horse-battery")
    assert not await hashes.verify(stored, "Correct-horse-battery")
    assert not await hashes.verify("not a hash", "correct-horse-battery")
    assert not await hashes.verify_unknown("correct-horse-battery")
    assert not hashes.needs_rehash(stored)


def test_policy() -> None:
    policy = PasswordPolicy(min_length=12)
    policy.check("long-enough-pass", username="alice")
    with pytest.raises(PasswordPolicyError, match="at least 12") as short:
        policy.check("short", username="alice")
    assert "short" not in str(short.value).replace("at least", "")
    with pytest.raises(PasswordPolicyError, match="differ from the username"):
        policy.check("alice-the-admin", username="ALICE-THE-ADMIN")
    with pytest.raises(PasswordPolicyError, match="differ from the current"):
        policy.check("long-enough-pass", username="alice", current="long-enough-pass")
    with pytest.raises(PasswordPolicyError, match="at most"):
        policy.check("x" * 257, username="alice")

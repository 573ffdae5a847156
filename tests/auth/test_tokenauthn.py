"""The Corral token authenticator: expiry, idle timeout, disabled tokens and users, usage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.auth import (
    LOCAL_GROUP,
    CorralTokenAuthenticator,
    TokenString,
    UsageRecorder,
    hash_secret,
    new_token,
)

NOW = 1_800_000_000.0  # 2027-01-15


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Index:
    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {
            "alice": {"metadata": {"name": "alice", "uid": "uid-alice"}, "enabled": True}
        }

    async def token(self, name: str) -> Mapping[str, Any] | None:
        return self.tokens.get(name)

    async def user(self, name: str) -> Mapping[str, Any] | None:
        return self.users.get(name)

    def add(self, **fields: Any) -> TokenString:
        token = new_token()
        self.tokens[token.name] = {
            "metadata": {"name": token.name, "resourceVersion": "1"},
            "userId": "alice",
            "tokenKind": "session",
            "tokenHash": hash_secret(token.secret),
            **fields,
        }
        return token


def bearer(token: TokenString) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_user_info_of_a_valid_token() -> None:
    index = Index()
    token = index.add(expiresAt="2027-01-16T00:00:00Z")
    user = await CorralTokenAuthenticator(index, clock=Clock()).authenticate(bearer(token))
    assert user is not None
    assert (user.name, user.uid) == ("alice", "uid-alice")
    assert user.groups == ("system:authenticated", LOCAL_GROUP)


async def test_expired_disabled_and_forged_tokens_refused() -> None:
    index = Index()
    clock = Clock()
    authn = CorralTokenAuthenticator(index, clock=clock)
    expiring = index.add(expiresAt="2027-01-15T08:00:10Z")
    disabled = index.add(enabled=False)
    assert await authn.authenticate(bearer(expiring)) is not None
    clock.now += 11
    assert await authn.authenticate(bearer(expiring)) is None
    assert await authn.authenticate(bearer(disabled)) is None
    forged = TokenString(disabled.name, "a" * 48)
    index.tokens[disabled.name]["enabled"] = True
    index.tokens[disabled.name]["metadata"]["resourceVersion"] = "2"
    assert await authn.authenticate(bearer(forged)) is None
    assert await authn.authenticate(bearer(disabled)) is not None  # re-parsed on a new version


async def test_disabled_or_missing_user_refused() -> None:
    index = Index()
    authn = CorralTokenAuthenticator(index, clock=Clock())
    token = index.add()
    index.users["alice"]["enabled"] = False
    assert await authn.authenticate(bearer(token)) is None
    del index.users["alice"]
    assert await authn.authenticate(bearer(token)) is None


async def test_idle_sessions_time_out_but_api_keys_do_not() -> None:
    index = Index()
    clock = Clock()
    written: list[tuple[str, str]] = []

    async def write(name: str, at: str) -> None:
        written.append((name, at))

    usage = UsageRecorder(write, interval=60, clock=clock)
    authn = CorralTokenAuthenticator(index, usage, idle_timeout=300, clock=clock)
    session = index.add()
    key = index.add(tokenKind="apikey")
    for token in (session, key):
        assert await authn.authenticate(bearer(token)) is not None
    clock.now += 200
    assert await authn.authenticate(bearer(session)) is not None  # used: idle clock restarts
    clock.now += 301
    assert await authn.authenticate(bearer(session)) is None
    assert await authn.authenticate(bearer(key)) is not None
    assert await usage.flush() == 2
    assert sorted(name for name, _ in written) == sorted([session.name, key.name])
    assert await usage.flush() == 0
    clock.now += 61
    assert await usage.flush() == 0  # nothing used since the last write
    assert await authn.authenticate(bearer(key)) is not None
    assert await usage.flush() == 1


async def test_deleted_token_forgotten() -> None:
    index = Index()
    authn = CorralTokenAuthenticator(index, clock=Clock())
    token = index.add()
    assert await authn.authenticate(bearer(token)) is not None
    del index.tokens[token.name]
    assert await authn.authenticate(bearer(token)) is None

"""Corral tokens in-process: how they are presented, listed, revoked, and when they stop."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.management import TokenTTLs
from management.identityapi import IdentityAPI, identity_api
from polling import eventually

NAMESPACES = "/api/v1/namespaces"
USERS = "/apis/management.corral.io/v1/users"
TOKENS = "/apis/management.corral.io/v1/tokens"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[IdentityAPI]:
    async with identity_api(tmp_path) as api:
        await api.create_user("alice")
        await api.create_user("bob")
        yield api


async def status_with(api: IdentityAPI, **headers: str) -> int:
    async with api.client(**headers) as http:
        return (await http.get(NAMESPACES)).status_code


async def test_bearer_and_basic_carry_the_same_token(api: IdentityAPI) -> None:
    token = await api.login("alice")
    assert await status_with(api, Authorization=f"Bearer {token}") == 200
    name, secret = token.split(":")
    basic = base64.b64encode(f"{name}:{secret}".encode()).decode()
    assert await status_with(api, Authorization=f"Basic {basic}") == 200
    wrong = base64.b64encode(f"{name}:{'x' * 48}".encode()).decode()
    assert await status_with(api, Authorization=f"Basic {wrong}") == 401
    async with api.client(Authorization=f"Bearer {token}") as http:
        review = await http.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        info = review.json()["status"]["userInfo"]
        user = (await api.admin.get(f"{USERS}/alice")).json()
    assert info["username"] == "alice"
    assert info["uid"] == user["metadata"]["uid"]
    assert "system:authenticated" in info["groups"]


async def test_own_tokens_listed_without_hash_and_others_hidden(api: IdentityAPI) -> None:
    token = await api.login("alice", description="laptop")
    bobs = await api.login("bob")
    async with api.client(Authorization=f"Bearer {token}") as http:
        listed = (await http.get("/v3/tokens")).json()["data"]
        assert [t["metadata"]["name"] for t in listed] == [token.split(":")[0]]
        assert listed[0]["current"] is True
        assert listed[0]["description"] == "laptop"
        assert "tokenHash" not in listed[0]
        assert token.split(":")[1] not in str(listed)
        other = await http.get(f"/v3/tokens/{bobs.split(':')[0]}")
        assert other.status_code == 404
        assert (await http.delete(f"/v3/tokens/{bobs.split(':')[0]}")).status_code == 404
    assert await status_with(api, Authorization=f"Bearer {bobs}") == 200


async def test_api_key_created_listed_and_deleted(api: IdentityAPI) -> None:
    session = await api.login("alice")
    async with api.client(Authorization=f"Bearer {session}") as http:
        made = await http.post("/v3/tokens", json={"description": "ci", "ttl": 3_600_000})
        assert made.status_code == 201, made.text
        key = made.json()["token"]
        assert made.json()["tokenKind"] == "apikey"
        assert "tokenHash" not in made.json()
        assert await status_with(api, Authorization=f"Bearer {key}") == 200
        bad = await http.post("/v3/tokens", json={"tokenKind": "session"})
        assert bad.status_code == 422
        assert bad.json()["details"]["causes"][0]["field"] == "tokenKind"
        gone = await http.delete(f"/v3/tokens/{key.split(':')[0]}")
        assert gone.status_code == 200
    assert await status_with(api, Authorization=f"Bearer {key}") == 401


async def test_logout_revokes_the_token(api: IdentityAPI) -> None:
    token = await api.login("alice")
    async with api.client(Authorization=f"Bearer {token}") as http:
        assert (await http.post("/v3/tokens?action=logout")).status_code == 200
    assert await status_with(api, Authorization=f"Bearer {token}") == 401


async def test_deleting_the_token_object_revokes_it(api: IdentityAPI) -> None:
    token = await api.login("alice")
    assert (await api.admin.delete(f"{TOKENS}/{token.split(':')[0]}")).status_code == 200
    assert await status_with(api, Authorization=f"Bearer {token}") == 401


async def test_disabling_the_user_stops_every_token_and_login(api: IdentityAPI) -> None:
    first, second = await api.login("alice"), await api.login("alice")
    patched = await api.admin.patch(
        f"{USERS}/alice",
        json={"enabled": False},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200

    async def refused() -> bool:
        codes = [await status_with(api, Authorization=f"Bearer {t}") for t in (first, second)]
        return codes == [401, 401]

    await eventually(refused, "tokens of a disabled user refused", deadline=5)
    login = await api.anonymous.post(
        "/v3-public/localProviders/local?action=login",
        json={"username": "alice", "password": "correct-horse-battery"},
    )
    assert login.status_code == 401
    # Enabled again, the same tokens work again: they were never deleted.
    await api.admin.patch(
        f"{USERS}/alice",
        json={"enabled": True},
        headers={"Content-Type": "application/merge-patch+json"},
    )

    async def accepted() -> bool:
        return await status_with(api, Authorization=f"Bearer {first}") == 200

    await eventually(accepted, "token accepted again", deadline=5)


async def test_expired_token_refused(tmp_path: Path) -> None:
    async with identity_api(tmp_path, TokenTTLs(session=1)) as api:
        await api.create_user("alice")
        token = await api.login("alice")
        assert await status_with(api, Authorization=f"Bearer {token}") == 200

        async def expired() -> bool:
            return await status_with(api, Authorization=f"Bearer {token}") == 401

        await eventually(expired, "session token expired", deadline=5)


async def test_last_used_written_at_most_once_per_interval(api: IdentityAPI) -> None:
    token = await api.login("alice")
    name = token.split(":")[0]
    for _ in range(3):
        assert await status_with(api, Authorization=f"Bearer {token}") == 200
    assert await api.identity.usage.flush() == 1
    stored = (await api.admin.get(f"{TOKENS}/{name}")).json()
    assert stored["lastUsedAt"].endswith("Z")
    assert await status_with(api, Authorization=f"Bearer {token}") == 200
    assert await api.identity.usage.flush() == 0  # within the minute: no second write


async def test_token_strings_of_other_shapes_are_not_ours(api: IdentityAPI) -> None:
    for value in ("Bearer token-abcde:short", "Bearer nonsense", "Basic !!!", "Digest x"):
        assert await status_with(api, Authorization=value) == 401

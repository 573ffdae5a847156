"""Login, users and browser sessions in-process: errors, rate limits, CSRF, rollback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.apiserver.authorizer import set_authorizer
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Decision
from corral.machinery.sessions import CSRF_COOKIE, SESSION_COOKIE
from management.identityapi import LOGIN, PASSWORD, IdentityAPI, identity_api

USERS = "/apis/management.corral.io/v1/users"
SECRETS = "/api/v1/namespaces/corral-local-user-passwords/secrets"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[IdentityAPI]:
    async with identity_api(tmp_path) as api:
        await api.create_user("alice")
        yield api


async def test_unknown_user_wrong_password_and_disabled_user_look_alike(api: IdentityAPI) -> None:
    await api.create_user("carol")
    await api.admin.patch(
        f"{USERS}/carol",
        json={"enabled": False},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    answers = []
    timings = []
    for username, password in (
        ("nobody", PASSWORD),
        ("alice", "wrong-password-123"),
        ("carol", PASSWORD),
    ):
        started = time.perf_counter()
        answer = await api.anonymous.post(LOGIN, json={"username": username, "password": password})
        timings.append(time.perf_counter() - started)
        answers.append((answer.status_code, answer.json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401
    assert answers[0][1]["message"] == "invalid username or password"
    # All three pay for one argon2 verification (a loose bound: a shared CPU is noisy).
    assert min(timings) > 0.2 * max(timings)


async def test_repeated_failures_back_off_with_429(api: IdentityAPI) -> None:
    body = {"username": "alice", "password": "wrong-password-123"}
    codes = [(await api.anonymous.post(LOGIN, json=body)).status_code for _ in range(5)]
    assert codes == [401] * 5
    limited = await api.anonymous.post(LOGIN, json=body)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["reason"] == "TooManyRequests"
    # Even the right password waits: no password is checked during the backoff.
    right = await api.anonymous.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert right.status_code == 429


async def test_bad_login_bodies_name_the_field(api: IdentityAPI) -> None:
    missing = await api.anonymous.post(LOGIN, json={"username": "alice"})
    assert missing.status_code == 422
    assert missing.json()["details"]["causes"][0]["field"] == "password"
    wrong_type = await api.anonymous.post(
        LOGIN, json={"username": "alice", "password": PASSWORD, "responseType": "jwt"}
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["details"]["causes"][0]["field"] == "responseType"
    assert PASSWORD not in wrong_type.text
    not_json = await api.anonymous.post(LOGIN, content=b"{")
    assert not_json.status_code == 400
    assert (await api.anonymous.get("/v3/tokens")).status_code == 401


async def test_created_user_must_change_password_then_may_work(api: IdentityAPI) -> None:
    created = await api.admin.post(
        "/v3/users", json={"username": "dave", "password": PASSWORD, "displayName": "Dave"}
    )
    assert created.status_code == 201
    assert created.json()["mustChangePassword"] is True
    assert PASSWORD not in created.text
    token = await api.login("dave")
    async with api.client(Authorization=f"Bearer {token}") as http:
        refused = await http.get("/api/v1/namespaces")
        assert refused.status_code == 403
        assert "must change your password" in refused.json()["message"]
        same = await http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": PASSWORD, "newPassword": PASSWORD},
        )
        assert same.status_code == 422
        wrong = await http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": "not-the-password", "newPassword": "another-password-9"},
        )
        assert wrong.status_code == 403
        changed = await http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": PASSWORD, "newPassword": "another-password-9"},
        )
        assert changed.status_code == 200
        assert (await http.get("/api/v1/namespaces")).status_code == 200


async def test_user_reads_never_carry_the_password(api: IdentityAPI) -> None:
    user = await api.admin.get(f"{USERS}/alice")
    listed = await api.admin.get(USERS)
    for text in (user.text, listed.text):
        assert "argon2" not in text
        assert PASSWORD not in text
    assert user.json()["username"] == "alice"
    assert "password" not in {k.lower() for k in user.json()}


async def test_user_create_checks_fields_and_leaves_nothing_half_written(api: IdentityAPI) -> None:
    bad_name = await api.admin.post(
        "/v3/users", json={"username": "Bad_Name", "password": PASSWORD}
    )
    assert bad_name.status_code == 422
    assert bad_name.json()["details"]["causes"][0]["field"] == "username"
    short = await api.admin.post("/v3/users", json={"username": "eve", "password": "short"})
    assert short.status_code == 422
    assert short.json()["details"]["causes"][0]["field"] == "password"
    assert "short" not in short.json()["message"].replace("too short", "")
    assert (await api.admin.get(f"{SECRETS}/eve")).status_code == 404
    # A User made through the Kubernetes API (no password Secret): creating it
    # again through /v3/users fails on the User and removes the Secret it wrote.
    made = await api.admin.post(
        USERS,
        json={
            "apiVersion": "management.corral.io/v1",
            "kind": "User",
            "metadata": {"name": "frank"},
        },
    )
    assert made.status_code == 201
    again = await api.admin.post("/v3/users", json={"username": "frank", "password": PASSWORD})
    assert again.status_code == 409
    assert (await api.admin.get(f"{SECRETS}/frank")).status_code == 404
    taken = await api.admin.post("/v3/users", json={"username": "alice", "password": PASSWORD})
    assert taken.status_code == 409


async def test_admin_resets_a_password(api: IdentityAPI) -> None:
    reset = await api.admin.post(
        "/v3/users/alice?action=setpassword", json={"newPassword": "reset-by-admin-42"}
    )
    assert reset.status_code == 200
    old = await api.anonymous.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    new = await api.anonymous.post(
        LOGIN, json={"username": "alice", "password": "reset-by-admin-42"}
    )
    assert new.status_code == 201
    assert new.json()["mustChangePassword"] is True
    missing = await api.admin.post(
        "/v3/users/zed?action=setpassword", json={"newPassword": "reset-by-admin-42"}
    )
    assert missing.status_code == 404


async def test_cookie_session_needs_csrf_for_unsafe_requests(api: IdentityAPI) -> None:
    login = await api.anonymous.post(
        LOGIN, json={"username": "alice", "password": PASSWORD, "responseType": "cookie"}
    )
    assert login.status_code == 200
    assert "token" not in login.json()
    cookies = {c.split("=", 1)[0]: c for c in login.headers.get_list("set-cookie")}
    session_cookie = cookies[SESSION_COOKIE]
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert flag in session_cookie
    assert "HttpOnly" not in cookies[CSRF_COOKIE]
    session = session_cookie.split(";")[0].split("=", 1)[1]
    csrf = login.json()["csrf"]
    cookie = f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}"
    async with api.client(Cookie=cookie) as http:
        assert (await http.get("/api/v1/namespaces")).status_code == 200
        body = {"metadata": {"name": "from-browser"}}
        refused = await http.post("/api/v1/namespaces", json=body)
        assert refused.status_code == 403
        assert "x-api-csrf" in refused.json()["message"]
        wrong = await http.post("/api/v1/namespaces", json=body, headers={"X-API-CSRF": "nope"})
        assert wrong.status_code == 403
        made = await http.post("/api/v1/namespaces", json=body, headers={"X-API-CSRF": csrf})
        assert made.status_code == 201
        assert (await http.post("/v3/tokens?action=logout")).status_code == 403
        out = await http.post("/v3/tokens?action=logout", headers={"X-API-CSRF": csrf})
        assert out.status_code == 200
        cleared = out.headers.get_list("set-cookie")
        assert any(c.startswith(f"{SESSION_COOKIE}=;") and "Max-Age=0" in c for c in cleared)
        assert (await http.get("/api/v1/namespaces")).status_code == 401


class OnlyAdmin:
    """An authorizer that allows the admin kubeconfig user and system users only."""

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        return Decision(user.name == "admin" or user.name.startswith("system:"))


async def test_user_admin_endpoints_ask_the_authorizer(api: IdentityAPI) -> None:
    set_authorizer(api.kube.api.parts, OnlyAdmin())
    token = await api.login("alice")
    async with api.client(Authorization=f"Bearer {token}") as http:
        create = await http.post("/v3/users", json={"username": "mallory", "password": PASSWORD})
        assert create.status_code == 403
        assert (
            'cannot create resource "users" in API group "management.corral.io"'
            in (create.json()["message"])
        )
        reset = await http.post(
            "/v3/users/admin?action=setpassword", json={"newPassword": "taken-over-admin"}
        )
        assert reset.status_code == 403
        # Their own password and tokens stay theirs to manage.
        assert (await http.get("/v3/tokens")).status_code == 200
    bad = await api.admin.post(
        "/v3/users/alice?action=setpassword",
        json={"newPassword": "reset-by-admin-42", "mustChangePassword": "yes"},
    )
    assert bad.status_code == 422
    assert bad.json()["details"]["causes"][0]["field"] == "mustChangePassword"

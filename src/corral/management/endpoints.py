"""The identity HTTP endpoints: login, logout, users, tokens (Rancher's /v3 shapes).

Routes (`IdentityEndpoints.routes`):

- ``POST /v3-public/localProviders/local?action=login`` (public) with
  ``{username, password, responseType: "token"|"cookie", ttl?, description?}``:
  a ``session`` token, answered once as JSON (``token``) or as the session
  cookie plus the CSRF cookie. Unknown user, wrong password and disabled
  user get the same 401 body after the same argon2 work; failures back off
  per username and per client address (429 with ``Retry-After``).
- ``POST /v3/users`` (needs ``create`` on users.management.corral.io):
  ``{username, password, displayName?, description?, mustChangePassword?}``.
- ``POST /v3/users?action=changepassword`` ``{currentPassword, newPassword}``:
  the caller changes their own password (which clears ``mustChangePassword``).
- ``POST /v3/users/<name>?action=setpassword`` ``{newPassword,
  mustChangePassword?}`` (needs ``update`` on users): an admin resets one.
- ``GET /v3/tokens``, ``GET|DELETE /v3/tokens/<name>``: the caller's own
  tokens, without their hashes (another user's token is "not found");
  ``POST /v3/tokens`` ``{description?, ttl? (ms), tokenKind?: "apikey"|"kubeconfig"}``
  makes an API key whose string is answered once;
  ``POST /v3/tokens?action=logout`` deletes the token the request carries
  and clears the cookies.

Bodies are JSON; a bad one is a 400/422 Status naming the field, and no
password, hash or token secret ever appears in an answer other than the one
that issues the token.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson

from corral.apiserver.asgi import AnyResponse, Request, Response
from corral.apiserver.authorizer import authorizer_of
from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.handlers.io import read_raw
from corral.apiserver.pipeline import Route
from corral.apiserver.responses import json_response, status_response
from corral.auth import LoginRateLimiter, presented_token
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes
from corral.machinery.sessions import CSRF_COOKIE, SESSION_COOKIE
from corral.machinery.status import (
    BadRequest,
    FieldError,
    Forbidden,
    Invalid,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from corral.management.accounts import Accounts
from corral.management.kinds import GROUP
from corral.management.tokens import Tokens, public_view

LOGIN_FAILED: Final = "invalid username or password"
LOGIN_PATH: Final = "/v3-public/localProviders/local"
USERS_PATH: Final = "/v3/users"
TOKENS_PATH: Final = "/v3/tokens"
CREATABLE_KINDS: Final = ("apikey", "kubeconfig")

PasswordChanged = Callable[[str], Awaitable[None]]


async def read_json(request: Request) -> dict[str, Any]:
    raw = await read_raw(request)
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _string(body: dict[str, Any], field: str, kind: str, *, required: bool = True) -> str:
    value = body.get(field, "")
    if not isinstance(value, str):
        raise Invalid(kind, "", [FieldError.type_invalid(field, type(value).__name__)], group=GROUP)
    if required and not value:
        raise Invalid(kind, "", [FieldError.required(field)], group=GROUP)
    return value


def _ttl_ms(body: dict[str, Any], kind: str) -> int:
    value = body.get("ttl", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(
            kind, "", [FieldError.invalid("ttl", value, "milliseconds, >= 0")], group=GROUP
        )
    return value


def _must_change(body: dict[str, Any]) -> bool:
    value = body.get("mustChangePassword", True)
    if not isinstance(value, bool):
        error = FieldError.type_invalid("mustChangePassword", value, "a boolean")
        raise Invalid("User", "", [error], group=GROUP)
    return value


def _action(request: Request) -> str:
    return (request.query.get("action") or [""])[0]


def _user(request: Request) -> UserInfo:
    if request.user is None:  # the pipeline authenticated every /v3 request
        raise Unauthorized()
    return request.user


def _cookie(name: str, value: str, *, http_only: bool, max_age: int) -> tuple[bytes, bytes]:
    flags = "; HttpOnly" if http_only else ""
    text = f"{name}={value}; Path=/; Max-Age={max_age}; Secure; SameSite=Lax{flags}"
    return (b"set-cookie", text.encode("latin-1"))


def _client_address(request: Request) -> str:
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"


class IdentityEndpoints:
    """The /v3 identity routes; usable once `bind` gave them their services."""

    def __init__(
        self,
        parts: ServerParts,
        limiter: LoginRateLimiter,
        on_password_changed: PasswordChanged | None = None,
    ) -> None:
        self._parts = parts
        self._limiter = limiter
        self._on_password_changed = on_password_changed
        self._accounts: Accounts | None = None
        self._tokens: Tokens | None = None

    def bind(self, accounts: Accounts, tokens: Tokens) -> None:
        self._accounts, self._tokens = accounts, tokens

    def routes(self) -> list[Route]:
        return [
            Route("v3-login", LOGIN_PATH, self.login),
            Route("v3-users", USERS_PATH, self.users, subpaths=True),
            Route("v3-tokens", TOKENS_PATH, self.tokens, subpaths=True),
        ]

    def _services(self) -> tuple[Accounts, Tokens]:
        if self._accounts is None or self._tokens is None:
            raise ServiceUnavailable("the identity service is starting; try again")
        return self._accounts, self._tokens

    def _authorize(self, user: UserInfo, verb: str, name: str = "") -> None:
        attrs = Attributes(verb, group=GROUP, version="v1", resource="users", name=name)
        decision = authorizer_of(self._parts).authorize(user, attrs)
        if not decision.allowed:
            raise Forbidden.for_request(
                user=user.name, verb=verb, resource="users", group=GROUP, name=name
            )

    # -- login ------------------------------------------------------------------

    async def login(self, request: Request) -> AnyResponse:
        accounts, tokens = self._services()
        if request.method != "POST" or _action(request) != "login":
            raise MethodNotAllowed("localProviders", request.method)
        body = await read_json(request)
        username = _string(body, "username", "Token")
        password = _string(body, "password", "Token")
        response_type = body.get("responseType", "token")
        if response_type not in ("token", "cookie"):
            raise Invalid(
                "Token",
                "",
                [FieldError.not_supported("responseType", response_type, ("token", "cookie"))],
                group=GROUP,
            )
        description = _string(body, "description", "Token", required=False)
        ttl_ms = _ttl_ms(body, "Token")
        address = _client_address(request)
        wait = self._limiter.retry_after(username, address)
        if wait:
            return _too_many(wait)
        user = await accounts.check_login(username, password)
        if user is None:
            self._limiter.failed(username, address)
            raise Unauthorized(LOGIN_FAILED)
        self._limiter.succeeded(username)
        token, stored = await tokens.issue(
            username, "session", ttl=ttl_ms // 1000, description=description
        )
        answer: dict[str, Any] = {
            "type": "token",
            "name": token.name,
            "userId": username,
            "expiresAt": stored.get("expiresAt", ""),
            "mustChangePassword": bool(user.get("mustChangePassword")),
        }
        if response_type == "token":
            answer["token"] = str(token)
            return json_response(201, answer)
        csrf = secrets.token_hex(16)
        max_age = int(stored.get("ttl", 0)) // 1000
        response = json_response(200, {**answer, "type": "session", "csrf": csrf})
        response.headers += [
            _cookie(SESSION_COOKIE, str(token), http_only=True, max_age=max_age),
            _cookie(CSRF_COOKIE, csrf, http_only=False, max_age=max_age),
        ]
        return response

    # -- users --------------------------------------------------------------------

    async def users(self, request: Request) -> AnyResponse:
        accounts, _ = self._services()
        user = _user(request)
        action, name = _action(request), request.subpath
        if request.method != "POST":
            raise MethodNotAllowed("users", request.method, group=GROUP)
        body = await read_json(request)
        if not name and action == "":
            self._authorize(user, "create")
            must_change = _must_change(body)
            created = await accounts.create(
                body.get("username"),
                body.get("password"),
                display_name=_string(body, "displayName", "User", required=False),
                description=_string(body, "description", "User", required=False),
                must_change_password=must_change,
            )
            return json_response(201, created)
        if not name and action == "changepassword":
            return await self._change_password(accounts, user, body, request)
        if name and "/" not in name and action == "setpassword":
            self._authorize(user, "update", name)
            if await accounts.user(name) is None:
                raise NotFound("users", name, group=GROUP)
            password = accounts.check_password(name, body.get("newPassword"))
            must_change = _must_change(body)
            await accounts.set_password(name, password, must_change=must_change)
            return json_response(200, {"userId": name, "mustChangePassword": must_change})
        raise BadRequest(f"unknown action {action!r} on {request.path}")

    async def _change_password(
        self, accounts: Accounts, user: UserInfo, body: dict[str, Any], request: Request
    ) -> AnyResponse:
        current = _string(body, "currentPassword", "User")
        address = _client_address(request)
        wait = self._limiter.retry_after(user.name, address)
        if wait:
            return _too_many(wait)
        if await accounts.user(user.name) is None:
            raise Forbidden("users", user.name, "only local users have a password", group=GROUP)
        new = accounts.check_password(user.name, body.get("newPassword"), current=current)
        if await accounts.check_login(user.name, current) is None:
            self._limiter.failed(user.name, address)
            raise Forbidden("users", user.name, "the current password is wrong", group=GROUP)
        await accounts.set_password(user.name, new, must_change=False)
        if self._on_password_changed is not None:
            await self._on_password_changed(user.name)
        return json_response(200, {"userId": user.name, "mustChangePassword": False})

    # -- tokens ---------------------------------------------------------------------

    async def tokens(self, request: Request) -> AnyResponse:
        _, tokens = self._services()
        user = _user(request)
        name, action = request.subpath, _action(request)
        if not name and request.method == "GET":
            mine = await tokens.of_user(user.name)
            current = _current_name(request)
            data = [{**public_view(t), "current": t["metadata"]["name"] == current} for t in mine]
            return json_response(200, {"type": "collection", "data": data})
        if not name and request.method == "POST" and action == "logout":
            current = _current_name(request)
            if current:
                found = await tokens.get(current)
                if found is not None and found.get("userId") == user.name:
                    await tokens.delete(current)
            response = json_response(200, {"type": "logout"})
            response.headers += [
                _cookie(SESSION_COOKIE, "", http_only=True, max_age=0),
                _cookie(CSRF_COOKIE, "", http_only=False, max_age=0),
            ]
            return response
        if not name and request.method == "POST" and action == "":
            body = await read_json(request)
            kind = body.get("tokenKind", "apikey")
            if kind not in CREATABLE_KINDS:
                raise Invalid(
                    "Token",
                    "",
                    [FieldError.not_supported("tokenKind", kind, CREATABLE_KINDS)],
                    group=GROUP,
                )
            description = _string(body, "description", "Token", required=False)
            ttl_ms = _ttl_ms(body, "Token")
            token, stored = await tokens.issue(
                user.name, kind, ttl=ttl_ms // 1000, description=description
            )
            return json_response(201, {**public_view(stored), "token": str(token)})
        if name and "/" not in name and request.method in ("GET", "DELETE"):
            found = await tokens.get(name)
            if found is None or found.get("userId") != user.name:
                raise NotFound("tokens", name, group=GROUP)
            if request.method == "DELETE":
                await tokens.delete(name)
            return json_response(200, public_view(found))
        raise MethodNotAllowed("tokens", request.method, group=GROUP)


def _current_name(request: Request) -> str:
    presented = presented_token(request.headers)
    return "" if presented is None else presented.name


def _too_many(wait: int) -> Response:
    response = status_response(
        TooManyRequests("too many failed logins; try again later", retry_after_seconds=wait)
    )
    response.headers.append((b"retry-after", str(wait).encode()))
    return response

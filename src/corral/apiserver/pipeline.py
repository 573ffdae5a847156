"""The request pipeline: filters around a handler, and the routes it ends in.

A request goes through filters in a fixed order, each able to answer early
(by raising a `StatusError`) or pass it on:

    authenticate → impersonate → authorize → admission → handler → (audit)

`Authenticate`, `Impersonate` and `Authorize` are filters built on the
protocols of ``corral.machinery`` (``Authenticator``, ``Authorizer``);
admission runs inside the store. A filter is any
``async (request, next) -> AnyResponse``.

`PUBLIC_PATHS` is the one list of paths served without credentials, besides
routes marked ``public`` (the web console's files, `Route`). `API_PREFIXES`
are the first path segments the APIs own: the console's fallback route (its
deep links) never answers under them.

`SessionGuard` runs right after authentication and protects requests
authenticated by the browser session cookie (``corral.machinery.sessions``):
an unsafe method needs the CSRF header equal to the CSRF cookie, and a
WebSocket upgrade needs an ``Origin`` that is one of the server's own; both
answer 403 otherwise. Requests with an ``Authorization`` header are not
concerned (a browser never adds one on another site's behalf).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from corral.apiserver.asgi import AnyResponse, Request
from corral.apiserver.impersonation import (
    HEADER_PREFIX,
    checks,
    impersonated_user,
    read_headers,
)
from corral.apiserver.requestinfo import parse_request_info
from corral.machinery.authn import Authenticator, UserInfo
from corral.machinery.authz import REQUEST_USER, Attributes, Authorizer, Decision
from corral.machinery.sessions import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    cookie_value,
    uses_session_cookie,
)
from corral.machinery.status import BadRequest, Forbidden, NotFoundError, UnauthorizedError

Handler = Callable[[Request], Awaitable[AnyResponse]]
Filter = Callable[[Request, Handler], Awaitable[AnyResponse]]

#: Paths anyone may request without a token: exactly these and their
#: ``/<check>`` sub-paths. Probes (kubelet, load balancers) carry no
#: credentials. ``/version`` is public as in Kubernetes (where it is
#: readable by ``system:unauthenticated``). ``/v3-public`` is where one
#: logs in; ``/cacerts`` is the server's CA certificate (public anyway), which
#: ``corral login`` fetches to show its checksum before trusting it.
PUBLIC_PATHS: Final = ("/healthz", "/livez", "/readyz", "/version", "/v3-public", "/cacerts")

#: First path segments that belong to an API (Kubernetes, Corral's ``/v3``, the
#: cluster proxy ``/k8s``, probes…): an unknown path under them is an API 404
#: (401 before authentication), never the web console's page.
API_PREFIXES: Final = frozenset(
    {
        "api",
        "apis",
        "v3",
        "v3-public",
        "k8s",
        "version",
        "openapi",
        "metrics",
        "healthz",
        "livez",
        "readyz",
        "cacerts",
    }
)


def is_public(path: str) -> bool:
    """True if ``path`` is in `PUBLIC_PATHS` or a sub-path of one."""
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)


def chain(filters: Sequence[Filter], handler: Handler) -> Handler:
    """A handler that runs ``filters`` in order, then ``handler``."""
    for f in reversed(filters):
        handler = _bind(f, handler)
    return handler


def _bind(f: Filter, next_handler: Handler) -> Handler:
    async def run(request: Request) -> AnyResponse:
        return await f(request, next_handler)

    return run


class Authenticate:
    """Sets ``request.user`` or answers 401; public paths and routes pass unauthenticated."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def __call__(self, request: Request, next_handler: Handler) -> AnyResponse:
        if not (request.public or is_public(request.path)):
            user = await self._authenticator.authenticate(request.headers)
            if user is None:
                raise UnauthorizedError()
            request.user = user
        return await next_handler(request)


CSRF_REFUSED: Final = (
    f"requests authenticated by the session cookie must send the {CSRF_HEADER} header "
    f"equal to the {CSRF_COOKIE} cookie"
)
ORIGIN_REFUSED: Final = (
    "WebSocket requests authenticated by the session cookie must come from the server's own origin"
)


class SessionGuard:
    """403 for cookie-authenticated unsafe requests without the CSRF token and
    cookie-authenticated WebSocket upgrades from a foreign ``Origin``."""

    def __init__(self, origins: frozenset[str]) -> None:
        self._origins = frozenset(o.rstrip("/").lower() for o in origins)

    async def __call__(self, request: Request, next_handler: Handler) -> AnyResponse:
        if request.user is not None and uses_session_cookie(request.headers):
            if request.scope.get("type") == "websocket":
                origin = request.headers.get("origin", "").rstrip("/").lower()
                if origin not in self._origins:
                    raise Forbidden("", detail=ORIGIN_REFUSED)
            elif request.method not in SAFE_METHODS:
                cookie = cookie_value(request.headers, CSRF_COOKIE) or ""
                header = request.headers.get(CSRF_HEADER, "")
                if not cookie or not hmac.compare_digest(cookie.encode(), header.encode()):
                    raise Forbidden("", detail=CSRF_REFUSED)
        return await next_handler(request)


def refusal(user: UserInfo, attrs: Attributes, decision: Decision) -> Forbidden:
    """The 403 of a denied request, worded as kube-apiserver words it."""
    return Forbidden.for_request(
        user=user.name,
        verb=attrs.verb,
        resource=attrs.resource,
        group=attrs.group,
        namespace=attrs.namespace,
        name=attrs.name,
        subresource=attrs.subresource,
        path=attrs.path,
        authorizer_reason=decision.reason,
    )


class Impersonate:
    """Acts as the user the ``Impersonate-*`` headers name, if the caller may
    (`corral.apiserver.impersonation`); 403 naming the first refused value."""

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    async def __call__(self, request: Request, next_handler: Handler) -> AnyResponse:
        caller = request.user
        if caller is None:
            return await next_handler(request)
        wanted = read_headers(request.scope["headers"])
        if wanted.empty:
            return await next_handler(request)
        if not wanted.user:
            if not wanted.others:  # an empty Impersonate-User asks for nothing
                request.drop_headers(HEADER_PREFIX)
                return await next_handler(request)
            raise BadRequest(
                "requested impersonation of groups, uid or extra without impersonating a user"
            )
        for attrs in checks(wanted):
            decision = self._authorizer.authorize(caller, attrs)
            if not decision.allowed:
                raise refusal(caller, attrs, decision)
        request.drop_headers(HEADER_PREFIX)
        request.impersonator = caller
        request.user = impersonated_user(wanted)
        return await next_handler(request)


def request_attributes(request: Request) -> Attributes:
    """What ``request`` asks for, as the authorizer is told (Kubernetes' RequestInfo)."""
    info = parse_request_info(request.method, request.path, request.query)
    if not info.is_resource_request:
        return Attributes(verb=info.verb, resource_request=False, path=request.path)
    return Attributes(
        verb=info.verb,
        group=info.group,
        version=info.version,
        resource=info.resource,
        subresource=info.subresource,
        namespace=info.namespace,
        name=info.name,
    )


class Authorize:
    """Asks the authorizer about every authenticated request; 403 as Kubernetes words it.

    Public paths (`PUBLIC_PATHS`) served without credentials pass. The user
    is published in ``REQUEST_USER`` for admission (escalation checks).
    """

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    async def __call__(self, request: Request, next_handler: Handler) -> AnyResponse:
        user = request.user
        if user is None:
            return await next_handler(request)
        attrs = request_attributes(request)
        decision = self._authorizer.authorize(user, attrs)
        if not decision.allowed:
            raise refusal(user, attrs, decision)
        token = REQUEST_USER.set(user)
        try:
            return await next_handler(request)
        finally:
            REQUEST_USER.reset(token)


@dataclass(frozen=True, slots=True)
class Route:
    """A path (and, with ``subpaths``, everything under it) and its handler.

    ``name`` labels metrics and tells a shared handler which path it serves.
    A ``public`` route is served without credentials (no authentication is
    attempted: the web console's files, which the login page needs). A
    ``websocket`` route serves WebSocket upgrades itself (its handler answers
    a `StreamingResponse` with ``on_message``), instead of only watches.
    """

    name: str
    path: str
    handler: Handler
    subpaths: bool = False
    public: bool = False
    websocket: bool = False


class Router:
    """Finds the route of a path and, at the end of the pipeline, runs it.

    `match` runs first (before any filter), so that even a refused request is
    labelled with its route; `dispatch` is the pipeline's last step. A
    ``fallback`` route (the web console's page) takes every path no route
    matched whose first segment is not one of `API_PREFIXES`.
    """

    def __init__(self, routes: Sequence[Route], fallback: Route | None = None) -> None:
        self._exact = {r.path: r for r in routes}
        self._by_name = {r.name: r for r in routes}
        self._prefixed = [r for r in routes if r.subpaths]
        self._fallback = fallback
        if fallback is not None:
            self._by_name[fallback.name] = fallback

    def match(self, request: Request) -> None:
        """Set ``request.route`` (and ``request.subpath``) if a route matches."""
        path = request.path.rstrip("/") or "/"
        route = self._exact.get(path)
        if route is None:
            for candidate in self._prefixed:
                if path.startswith(candidate.path + "/"):
                    route = candidate
                    request.subpath = path[len(candidate.path) + 1 :]
                    break
        if (
            route is None
            and self._fallback is not None
            and path.split("/", 2)[1] not in API_PREFIXES
        ):
            route = self._fallback
        if route is not None:
            request.route = route.name
            request.public = route.public

    def serves_websocket(self, name: str) -> bool:
        """True if the route ``name`` serves WebSocket upgrades itself."""
        route = self._by_name.get(name)
        return route is not None and route.websocket

    async def dispatch(self, request: Request) -> AnyResponse:
        """The matched route's handler, or 404 NotFound."""
        route = self._by_name.get(request.route)
        if route is None:
            raise NotFoundError("the server could not find the requested resource")
        return await route.handler(request)

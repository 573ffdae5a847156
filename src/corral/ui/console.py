"""The web console at ``/``: which URL gets which built file, with which headers.

Decisions:

- **Routes.** ``/assets/<name>`` serves the build's content-hashed files and
  nothing else (an unknown name is 404: a stale page must not get
  ``index.html`` as JavaScript). Every other GET outside the API prefixes
  (`corral.apiserver.pipeline.API_PREFIXES`) is the console's fallback: a
  top-level file of the build by its name (``/favicon.svg``), else
  ``index.html``, so deep links (``/c/local/explorer/v1.pods``) load the app
  and its router takes over. Both routes are public: the login page must load
  without a session, and the files hold no secret.
- **Caching.** Assets: ``public, max-age=31536000, immutable`` (their names
  change with their content). ``index.html`` and top-level files:
  ``no-cache`` with an ``ETag`` (a revalidation costs a 304).
- **Security headers** on every console answer (`SECURITY_HEADERS`): a strict
  Content-Security-Policy (scripts, styles, fonts, images and connections
  from this origin only; inline styles allowed, which CodeMirror and xterm.js
  set; no plugins, no ``<base>``, never framed, forms post here only),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``,
  ``X-Frame-Options: DENY``.
- **Not built.** When the build is missing, the fallback answers a short text
  page saying how to build it (never an error): the API works without it.
"""

from __future__ import annotations

from typing import Final

from corral.apiserver.asgi import Request, Response
from corral.apiserver.pipeline import Route
from corral.machinery.status import MethodNotAllowed
from corral.ui.staticfiles import StaticFile, StaticFiles, accepted_encodings

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
IMMUTABLE: Final = b"public, max-age=31536000, immutable"
REVALIDATE: Final = b"no-cache"

NOT_BUILT: Final = (
    b"Corral is running, but its web console is not built in this installation.\n\n"
    b"Build it with `make run` from a source checkout (or `npm ci && npm run build`\n"
    b"in web/), then reload this page. The API, kubectl and the corral command work\n"
    b"without it.\n"
)
NOT_FOUND: Final = b"404: no such file in the web console\n"

_READ_METHODS: Final = ("GET", "HEAD")


class Console:
    """The console's two routes over one build directory."""

    def __init__(self, files: StaticFiles) -> None:
        self.files = files

    def routes(self) -> list[Route]:
        """The routes to add to the HTTPS app (the fallback goes separately: `fallback`)."""
        return [Route("console-assets", "/assets", self.asset, subpaths=True, public=True)]

    def fallback(self) -> Route:
        """The route of every non-API path: the page and the top-level files."""
        return Route("console", "/", self.page, public=True)

    async def asset(self, request: Request) -> Response:
        """``/assets/<name>``: a hashed build file, cached for a year, or 404."""
        _read_only(request)
        found = self.files.asset(request.subpath) if "/" not in request.subpath else None
        if found is None:
            return _answer(404, NOT_FOUND, b"text/plain; charset=utf-8")
        return _file(request, found, IMMUTABLE)

    async def page(self, request: Request) -> Response:
        """A top-level build file by name, else ``index.html`` (deep links)."""
        _read_only(request)
        name = request.path.strip("/")
        found = self.files.top_level(name) if name and "/" not in name else None
        if found is None:
            found = self.files.index()
        if found is None:
            return _answer(200, NOT_BUILT, b"text/plain; charset=utf-8")
        return _file(request, found, REVALIDATE)


def _read_only(request: Request) -> None:
    if request.method not in _READ_METHODS:
        raise MethodNotAllowed("", request.method)


def _file(request: Request, found: StaticFile, cache_control: bytes) -> Response:
    encoding, body = found.pick(accepted_encodings(request.headers.get("accept-encoding", "")))
    # One ETag per representation: the encoded bytes differ from the file's.
    etag = found.etag if encoding is None else found.etag[:-1] + f'-{encoding}"'.encode()
    headers = [(b"cache-control", cache_control), (b"etag", etag)]
    if found.encoded:
        headers.append((b"vary", b"Accept-Encoding"))
    if cache_control == REVALIDATE and _matches(request.headers.get("if-none-match", ""), etag):
        return _answer(304, b"", found.content_type, headers)
    if encoding is not None:
        headers.append((b"content-encoding", encoding.encode()))
    return _answer(200, body, found.content_type, headers)


def _matches(if_none_match: str, etag: bytes) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.decode() in tags


def _answer(
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Response:
    own = headers or [(b"cache-control", REVALIDATE)]
    return Response(status, body, content_type, [*own, *SECURITY_HEADERS])

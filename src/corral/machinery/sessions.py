"""Browser sessions: the cookie and CSRF names apiserver, auth and management share.

A browser signs in once and is then authenticated by the session cookie
(`SESSION_COOKIE`, HttpOnly, so page scripts cannot read it). Because a
browser attaches that cookie to requests other sites make it send, two
checks apply to cookie-authenticated requests only (DESIGN §3):

- an unsafe method (anything but GET, HEAD, OPTIONS) must carry the header
  `CSRF_HEADER` equal to the cookie `CSRF_COOKIE` (double submit: another
  site can make the browser send the cookie, but cannot read it to copy it
  into a header);
- a WebSocket upgrade must come from the server's own origin.

A request is cookie-authenticated exactly when it carries the session cookie
and no ``Authorization`` header (`uses_session_cookie`): the token
authenticator prefers the header, so this is the same rule it follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

#: The session cookie: the whole Corral token string, HttpOnly.
SESSION_COOKIE = "CORRAL_SESS"
#: The CSRF cookie, readable by page scripts, echoed in `CSRF_HEADER`.
CSRF_COOKIE = "CORRAL_CSRF"
#: The header that must repeat the CSRF cookie on unsafe cookie requests.
CSRF_HEADER = "x-api-csrf"
#: Methods that change nothing and need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of cookie ``name`` in the ``Cookie`` header, or None."""
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


def uses_session_cookie(headers: Mapping[str, str]) -> bool:
    """True if the request would be authenticated by its session cookie."""
    return "authorization" not in headers and cookie_value(headers, SESSION_COOKIE) is not None

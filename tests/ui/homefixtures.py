"""Browser-test plumbing for the console's home pages, until ``tests/ui/conftest.py`` exists.

A test module gets a real ``corral server`` (tests/serverproc.py) and a
headless Debian Chromium driven by Playwright (Python). The console is the
one built into ``src/corral/ui/static`` by ``npm run build``. When the server
does not serve it yet (it learns to on the ``uiserver`` branch), the browser
context answers the console's own paths from that directory itself — index
.html for any deep link, as the server will — and lets every API path through
to the real server, so the page's origin, cookies and CSRF checks are the
real ones.

Every page records console errors and uncaught exceptions; `page` fails the
test when there were any. Chromium's own "Failed to load resource" lines for
401/403 answers are not errors of the page: signing in starts by asking the
server who we are, and a signed-out browser gets a 401.

The integrator folds this into the shared fixtures; the names are distinct so
both can coexist meanwhile.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from serverproc import CorralServer

playwright_sync = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "src" / "corral" / "ui" / "static"
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
API_PREFIXES = ("/api", "/apis", "/v3", "/v3-public", "/k8s", "/version", "/openapi", "/healthz")
LOGIN = "/v3-public/localProviders/local?action=login"
EXPECTED_NETWORK_ERROR = re.compile(r"Failed to load resource: .* status of (401|403|422|429)")
NEW_PASSWORD = "console-home-password-1"


def require_console() -> None:
    """Skip when the console was not built or the browser is missing."""
    if not (STATIC / "index.html").is_file():
        pytest.skip("the console is not built: run `npm ci && npm run build` in web/")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")


def server_serves_console(server: CorralServer) -> bool:
    with server.client() as http:
        answer = http.get("/home", headers={"Accept": "text/html"})
    return answer.status_code == 200 and '<div id="app">' in answer.text


def bootstrap_password(server: CorralServer) -> str:
    return (server.data_dir / "bootstrap-password").read_text().strip()


def change_admin_password(server: CorralServer, new: str = NEW_PASSWORD) -> str:
    """Do the first login's password change over the API (for tests about later pages)."""
    path = server.data_dir / "bootstrap-password"
    if not path.exists():
        return new
    with server.client() as http:
        login = http.post(LOGIN, json={"username": "admin", "password": bootstrap_password(server)})
        assert login.status_code == 201, login.text
        token = login.json()["token"]
        changed = http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": bootstrap_password(server), "newPassword": new},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200, changed.text
    return new


def _serve_static(route: Any) -> None:
    """Answer a console path from the build (index.html for deep links); pass API paths on."""
    path = httpx.URL(route.request.url).path
    if path.startswith(API_PREFIXES):
        route.continue_()
        return
    file = (STATIC / path.lstrip("/")).resolve()
    if not file.is_file() or STATIC.resolve() not in file.parents:
        file = STATIC / "index.html"
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    route.fulfill(status=200, body=file.read_bytes(), headers={"content-type": kind})


@dataclass
class PageErrors:
    """What went wrong inside a page: console errors and uncaught exceptions."""

    messages: list[str] = field(default_factory=list)

    def console(self, message: Any) -> None:
        if message.type == "error" and not EXPECTED_NETWORK_ERROR.search(message.text):
            self.messages.append(f"console: {message.text}")

    def exception(self, error: Any) -> None:
        self.messages.append(f"exception: {error}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_console()
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class ConsoleContext:
    """A browser context on the server's origin, and the errors of its pages."""

    context: Any
    errors: PageErrors
    base_url: str

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("console", self.errors.console)
        page.on("pageerror", self.errors.exception)
        return page


def open_context(
    browser: Any, server: CorralServer, width: int = 1280, height: int = 800
) -> ConsoleContext:
    context = browser.new_context(
        base_url=server.https_url,
        ignore_https_errors=True,
        viewport={"width": width, "height": height},
        accept_downloads=True,
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.https_url)
    context.set_default_timeout(10_000)
    if not server_serves_console(server):
        context.route(re.compile(r".*"), _serve_static)
    return ConsoleContext(context, PageErrors(), server.https_url)


@pytest.fixture
def console(browser: Any, server: CorralServer) -> Iterator[ConsoleContext]:
    """A fresh browser context (no cookies) that must end without page errors."""
    ctx = open_context(browser, server)
    try:
        yield ctx
    finally:
        ctx.context.close()
    assert ctx.errors.messages == [], "\n".join(ctx.errors.messages)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def wait_ready(page: Any, route_name: str) -> Any:
    """The page of ``route_name`` once its first data is on screen."""
    locator = page.locator(f'[data-testid="page-{route_name}"][data-ready]')
    locator.wait_for()
    return locator


def sign_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()

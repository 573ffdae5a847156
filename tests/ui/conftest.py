"""Browser tests of the web console: a real server, Debian's Chromium, Playwright.

Fixtures:

- ``console_server`` (module): a real ``corral server`` serving the built
  console, management on, every built-in controller and two simulated nodes
  (pods reach Running). The console must be built (``make test`` builds it);
  a missing build fails, never skips.
- ``browser`` (module): ``/usr/bin/chromium`` headless through Playwright,
  with the flags of docs/ui.md. A missing Chromium fails the tests (it is in
  scripts/system-packages.txt, which ``make test`` installs).
- ``page``: a fresh browser context (1280x800, the server's self-signed CA
  accepted) and page on ``console_server``; the test fails if the page logs a
  console error, throws, or violates the Content-Security-Policy. A failed
  load of an API URL with a 4xx answer is not counted (the page shows an
  error state for those); any other failed load is. A test that expects a
  message calls ``page_errors.allow(<regex>)``.

Helpers: `sign_in_as_admin` (the bootstrap password is changed through the
API once per server, so tests not about first login start signed in as
``admin`` with `ADMIN_PASSWORD`), `admin_password`, `screenshot` (writes
``build/screenshots/<name>.png``) and `wait_ready` (a page's ``data-ready``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from corral.ui import STATIC_DIR
from serverproc import CorralServer, controller_args, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
LOGIN = "/v3-public/localProviders/local?action=login"
CHANGE_PASSWORD = "/v3/users?action=changepassword"
ADMIN_PASSWORD = "console-admin-password-1"
#: Paths whose 4xx answers a page handles itself (an error or empty state).
API_PATH = re.compile(r"^https?://[^/]+/(api|apis|v3|v3-public|k8s|version)(/|$)")
CONSOLE_SERVER_ARGS = (*controller_args("*"), "--simulate-nodes", "2")
#: Reports CSP violations as console errors, whatever the page does with them.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
});
"""


def require_built_console() -> None:
    index = STATIC_DIR / "index.html"
    assert index.is_file(), f"the console is not built ({index}): run `make test` or `make ui`"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    require_built_console()
    data_dir = tmp_path_factory.mktemp("console") / "data"
    with running_server(data_dir, CONSOLE_SERVER_ARGS) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module-scoped: Playwright's sync API runs its own event loop while it is
    # started, which the asyncio tests of later modules must not meet.
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (scripts/system-packages.txt; "
        "`make test` installs it)"
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageErrors:
    """What went wrong on a page: console errors, uncaught exceptions, CSP violations."""

    messages: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Do not fail on messages matching ``pattern`` (a regex)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url", ""))
        text = message.text
        if text.startswith("Failed to load resource") and API_PATH.match(url):
            status = re.search(r"status of (\d{3})", text)
            if status and status.group(1).startswith("4"):
                return
        self.messages.append(f"console error: {text} ({url})")

    def on_page_error(self, error: Exception) -> None:
        self.messages.append(f"uncaught: {error}")

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def context(browser: Browser, console_server: CorralServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=console_server.https_url, ignore_https_errors=True, viewport=VIEWPORT
    )
    ctx.add_init_script(CSP_REPORTER)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext, page_errors: PageErrors) -> Iterator[Page]:
    tab = context.new_page()
    tab.on("console", page_errors.on_console)
    tab.on("pageerror", page_errors.on_page_error)
    yield tab
    problems = page_errors.unexpected()
    assert not problems, "the page reported errors:\n" + "\n".join(problems)


_changed: set[Path] = set()


def admin_password(server: CorralServer) -> str:
    """``admin``'s password, after changing the bootstrap one (once per server)."""
    bootstrap = server.data_dir / "bootstrap-password"
    if server.data_dir in _changed or not bootstrap.exists():
        return ADMIN_PASSWORD
    first = bootstrap.read_text().strip()
    with server.client() as http:
        login = http.post(LOGIN, json={"username": "admin", "password": first})
        assert login.status_code == 201, login.text
        token = login.json()["token"]
        changed = http.post(
            CHANGE_PASSWORD,
            json={"currentPassword": first, "newPassword": ADMIN_PASSWORD},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200, changed.text
    _changed.add(server.data_dir)
    return ADMIN_PASSWORD


def sign_in_as_admin(page: Page, server: CorralServer) -> None:
    """Give ``page``'s context admin's session cookie (through the login API)."""
    answer = page.context.request.post(
        LOGIN,
        data={"username": "admin", "password": admin_password(server), "responseType": "cookie"},
    )
    assert answer.status == 200, answer.text()


def admin_api(server: CorralServer) -> httpx.Client:
    """An HTTPS client with the admin token, for setting up what a page shows."""
    return server.client(server.token)


def wait_ready(page: Page, route_name: str, timeout_ms: float = 10_000) -> None:
    """Wait for the page ``route_name`` to show its first data (``data-ready``)."""
    page.wait_for_selector(
        f'[data-testid="page-{route_name}"][data-ready]', state="attached", timeout=timeout_ms
    )


def screenshot(page: Page, name: str) -> Path:
    """Save the page as ``build/screenshots/<name>.png``; the file's path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

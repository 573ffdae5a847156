"""Browser fixtures for the explorer's Playwright tests, until ``tests/ui/conftest.py`` has them.

One real ``corral server`` per test module (all controllers, two simulated
nodes with short intervals) serving the built console at ``/``, its admin's
forced password change done through the API, and a Chromium page (Debian's
``/usr/bin/chromium``) signed in by cookie through the login API in the
browser's own context. Console errors and uncaught page errors are
collected; a test fails if any appeared, except Chromium's "Failed to load
resource" line for an HTTP status the test itself provokes and declares
with `Console.expect_http_error` (a 422 the page then shows at its field).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from serverproc import CorralServer, controller_args, running_server

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "corral" / "ui" / "static"
WEB = ROOT / "web"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "screenshots"
NEW_PASSWORD = "explorer-tests-Passw0rd!"
SIM_ENV = {
    "CORRAL_SIM_LEASE_RENEW": "0.5",
    "CORRAL_SIM_STATUS_INTERVAL": "2",
    "CORRAL_SIM_POD_START_DELAY": "0.3",
    "CORRAL_SIM_LOG_INTERVAL": "0.2",
}
#: Waits in the browser (ms): generous for a shared 2-core machine.
WAIT_MS = 20_000
playwright_sync.expect.set_options(timeout=WAIT_MS)
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


def ensure_built_ui() -> None:
    """Build the console once when ``src/corral/ui/static`` has none (as ``make run`` does)."""
    if (STATIC / "index.html").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("the console is not built and npm is not installed")
    if not (WEB / "node_modules").exists():
        subprocess.run([npm, "ci"], cwd=WEB, check=True, capture_output=True, timeout=600)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True, capture_output=True, timeout=600)


def change_admin_password(server: CorralServer) -> str:
    """Do the bootstrap admin's forced password change; answers the new password."""
    bootstrap = (server.data_dir / "bootstrap-password").read_text().strip()
    with server.client() as http:
        login = http.post(
            "/v3-public/localProviders/local?action=login",
            json={"username": "admin", "password": bootstrap, "responseType": "token"},
        )
        login.raise_for_status()
        changed = http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": bootstrap, "newPassword": NEW_PASSWORD},
            headers={"Authorization": f"Bearer {login.json()['token']}"},
        )
        changed.raise_for_status()
    return NEW_PASSWORD


@dataclass
class Console:
    """A signed-in browser page on the console and what a test needs around it."""

    page: Any
    server: CorralServer
    errors: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def expect_http_error(self, *statuses: int) -> None:
        """The test provokes these HTTP error statuses on purpose (Chromium logs each)."""
        self.expected_statuses.update(statuses)

    def unexpected_errors(self) -> list[str]:
        def expected(message: str) -> bool:
            match = FAILED_LOAD.match(message)
            return match is not None and int(match.group(1)) in self.expected_statuses

        return [m for m in self.errors if not expected(m)]

    def url(self, path: str) -> str:
        return f"{self.server.https_url}{path}"

    def goto_ready(self, path: str, testid: str) -> None:
        """Open ``path`` and wait for its page root to carry ``data-ready``."""
        self.page.goto(self.url(path))
        self.wait_ready(testid)

    def wait_ready(self, testid: str) -> None:
        self.page.wait_for_selector(f'[data-testid="{testid}"][data-ready]', timeout=WAIT_MS)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def kube(self) -> httpx.Client:
        """The admin's API client (the kubeconfig token), for arranging and checking."""
        return self.server.client(self.server.token)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    ensure_built_ui()
    args = [*controller_args("*"), "--simulate-nodes", "2"]
    with running_server(tmp_path_factory.mktemp("ui") / "data", args, SIM_ENV) as server:
        change_admin_password(server)
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_sync.sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def console(browser: Any, ui_server: CorralServer) -> Iterator[Console]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    result = Console(page=page, server=ui_server)
    page.on("console", lambda msg: result.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: result.errors.append(f"uncaught: {exc}"))
    login = context.request.post(
        f"{ui_server.https_url}/v3-public/localProviders/local?action=login",
        data={"username": "admin", "password": NEW_PASSWORD, "responseType": "cookie"},
    )
    assert login.ok, login.text()
    yield result
    # Leave the console as a user would (its sockets and streams close), then the browser.
    page.goto("about:blank")
    context.close()
    unexpected = result.unexpected_errors()
    assert not unexpected, f"console errors: {unexpected}"

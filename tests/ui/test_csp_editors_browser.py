"""CodeMirror 6 and xterm.js under the console's Content-Security-Policy, in Chromium.

The console loads both lazily, in views other helpers write; this test does
not wait for them: it builds ``web/csp-harness`` (the same packages, set up
as the views do) with Vite, has a real ``corral server`` serve that build
with the console's headers, and checks that the editor and the terminal draw
with no console error and no CSP violation.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from serverproc import CorralServer, running_server
from ui.conftest import CSP_REPORTER, PageErrors, screenshot

WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture(scope="module")
def harness_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    npx = shutil.which("npx")
    assert npx is not None, "Node and npm are needed (make test installs web/node_modules)"
    assert (WEB / "node_modules").is_dir(), "run `make test` (npm ci in web/) first"
    out = tmp_path_factory.mktemp("csp-harness") / "static"
    subprocess.run(
        [npx, "vite", "build", "csp-harness", "--outDir", str(out), "--emptyOutDir"],
        cwd=WEB,
        check=True,
        capture_output=True,
        timeout=120,
    )
    data_dir = tmp_path_factory.mktemp("csp-server") / "data"
    with running_server(data_dir, env={"CORRAL_UI_DIR": str(out)}) as server:
        yield server


def test_codemirror_and_xterm_work_under_the_csp(
    browser: Browser, harness_server: CorralServer
) -> None:
    errors = PageErrors()
    context = browser.new_context(base_url=harness_server.https_url, ignore_https_errors=True)
    try:
        context.add_init_script(CSP_REPORTER)
        page = context.new_page()
        page.on("console", errors.on_console)
        page.on("pageerror", errors.on_page_error)
        response = page.goto("/")
        assert response is not None
        assert "style-src 'self' 'unsafe-inline'" in response.headers["content-security-policy"]
        page.wait_for_selector("body[data-ready]", state="attached", timeout=15_000)
        assert "kind: ConfigMap" in page.inner_text(".cm-content")
        assert page.locator(".cm-lint-marker-error").count() == 1
        assert "container log line 2" in page.inner_text(".xterm-rows")
        screenshot(page, "csp-codemirror-xterm")
    finally:
        context.close()
    assert errors.unexpected() == []

"""The served console in Chromium: pages load under the Content-Security-Policy
without console errors, deep links work, inline scripts are refused, and the
page's own subscription WebSocket works with the session cookie."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from polling import poll
from serverproc import CorralServer
from ui.conftest import PageErrors, admin_api, screenshot, sign_in_as_admin

#: The Vue app rendered something (a selector: ``wait_for_function`` would need
#: ``eval``, which the Content-Security-Policy refuses, as it should).
APP_MOUNTED = "#app > *"


def test_the_console_loads_without_a_session_and_without_errors(
    page: Page, console_server: CorralServer
) -> None:
    response = page.goto("/")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(APP_MOUNTED, state="attached")
    screenshot(page, "console-first-page")


def test_deep_links_load_the_app_signed_in(page: Page, console_server: CorralServer) -> None:
    sign_in_as_admin(page, console_server)
    for path in ("/home", "/c/local/explorer/v1.pods?namespace=default", "/no/such/page"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        page.wait_for_selector(APP_MOUNTED, state="attached")
    screenshot(page, "console-deep-link")


def test_inline_scripts_are_refused(
    page: Page, console_server: CorralServer, page_errors: PageErrors
) -> None:
    page_errors.allow(r"CSP violation: script-src")
    page_errors.allow(r"Content Security Policy directive")
    page.goto("/")
    page.wait_for_selector(APP_MOUNTED, state="attached")
    ran = page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.__inline = 1";
          document.body.appendChild(s);
          return window.__inline === 1;
        }"""
    )
    assert ran is False
    assert any("script-src" in m for m in page_errors.messages)


def test_the_page_subscribes_over_its_websocket_with_the_session_cookie(
    page: Page, console_server: CorralServer
) -> None:
    sign_in_as_admin(page, console_server)
    page.goto("/home")
    page.wait_for_selector(APP_MOUNTED, state="attached")
    with admin_api(console_server) as http:
        rv = http.get("/api/v1/namespaces").json()["metadata"]["resourceVersion"]
        page.evaluate(
            """(rv) => {
              window.__events = [];
              const ws = new WebSocket(`wss://${location.host}/v3/subscribe`);
              ws.onopen = () => ws.send(JSON.stringify(
                {op: "subscribe", id: "ns", path: "/api/v1/namespaces", resourceVersion: rv}));
              ws.onmessage = (m) => window.__events.push(JSON.parse(m.data));
            }""",
            rv,
        )
        created = http.post("/api/v1/namespaces", json={"metadata": {"name": "from-browser"}})
        assert created.status_code == 201

    def added() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = page.evaluate("() => window.__events")
        return [e for e in events if e["type"] == "ADDED"]

    events = poll(added, "the page got the ADDED event of its subscription", deadline=10)
    assert [(e["id"], e["object"]["metadata"]["name"]) for e in events] == [("ns", "from-browser")]

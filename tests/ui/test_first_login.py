"""The console's first login, sign-in and sign-out, in a real browser against a real server.

One server of its own for the module: the first test walks the first login (bootstrap
password → new password → server URL → home) exactly as a new admin would;
the later ones sign in with the new password.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page

from polling import poll
from serverproc import CorralServer
from ui.conftest import ADMIN_PASSWORD, admin_password, screenshot, wait_ready
from ui.homehelpers import bootstrap_password, own_server, sign_in_with_form

console_server = own_server("console-first-login")


def _setting(server: CorralServer, name: str) -> dict[str, Any]:
    with server.client(server.token) as http:
        answer = http.get(f"/apis/management.corral.io/v1/settings/{name}")
    assert answer.status_code == 200, answer.text
    setting: dict[str, Any] = answer.json()
    return setting


def test_first_login_bootstrap_password_new_password_server_url(
    page: Page, console_server: CorralServer
) -> None:
    page.goto("/home")
    wait_ready(page, "login")
    assert page.url.endswith("/login")
    screenshot(page, "login")

    bootstrap = bootstrap_password(console_server)
    sign_in_with_form(page, "admin", bootstrap)
    wait_ready(page, "first-login")
    assert httpx.URL(page.url).path == "/first-login"
    # The password is nowhere in the address bar or the page's storage.
    assert bootstrap not in page.url
    stored = page.evaluate(
        "JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})"
    )
    assert bootstrap not in stored

    # Step 1: the bootstrap password, prefilled from the login.
    current = page.get_by_label("Current password")
    assert current.input_value() == bootstrap
    screenshot(page, "first-login")
    page.get_by_role("button", name="Next").click()

    # Step 2: the server's password policy shows at the field.
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Change password").click()
    policy = page.get_by_test_id("error-newPassword")
    policy.wait_for()
    assert "at least" in policy.inner_text()
    # Two different passwords are caught before anything is sent.
    page.get_by_label("New password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("New password again").fill(ADMIN_PASSWORD + "x")
    page.get_by_role("button", name="Change password").click()
    assert "differ" in page.get_by_test_id("error-confirm").inner_text()
    page.get_by_label("New password again").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    # Step 3: the server URL, prefilled with the page's origin; a bad one is
    # refused by the server at the field.
    url_field = page.get_by_label("Server URL")
    url_field.wait_for()
    assert url_field.input_value() == console_server.https_url
    screenshot(page, "first-login-server-url")
    url_field.fill("http://plain.example.com/path")
    page.get_by_role("button", name="Save and continue").click()
    problem = page.get_by_test_id("error-value")
    problem.wait_for()
    assert "https://" in problem.inner_text()
    url_field.fill(console_server.https_url)
    page.get_by_role("button", name="Save and continue").click()

    wait_ready(page, "home")
    assert httpx.URL(page.url).path == "/home"
    assert page.get_by_test_id("whoami").count() == 0  # the user menu is closed
    page.get_by_test_id("user-menu").click()
    assert page.get_by_test_id("whoami").inner_text() == "admin"
    assert _setting(console_server, "server-url")["value"] == console_server.https_url
    assert not (console_server.data_dir / "bootstrap-password").exists()


def test_deep_link_survives_login_and_logout_ends_the_session(
    page: Page, console_server: CorralServer
) -> None:
    password = admin_password(console_server)
    deep = "/c/local/explorer/v1.namespaces?namespace=default"
    page.goto(deep)
    wait_ready(page, "login")
    assert httpx.URL(page.url).params["next"] == deep

    sign_in_with_form(page, "admin", password)
    page.wait_for_url(lambda url: httpx.URL(url).path == "/c/local/explorer/v1.namespaces")
    assert page.url == f"{console_server.https_url}{deep}"
    assert page.get_by_test_id("topbar").get_by_text("Corral").is_visible()

    page.goto("/home")
    wait_ready(page, "home")
    cookies = {c["name"] for c in page.context.cookies()}
    assert "CORRAL_SESS" in cookies
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    wait_ready(page, "login")
    assert "CORRAL_SESS" not in {c["name"] for c in page.context.cookies()}
    # The top bar of a signed-out page is the brand alone.
    assert page.get_by_test_id("user-menu").count() == 0
    # Signed out for real: the console asks for a login again.
    page.goto("/home")
    wait_ready(page, "login")
    assert httpx.URL(page.url).path == "/login"


def test_wrong_password_is_refused_with_the_reason(
    page: Page, console_server: CorralServer
) -> None:
    admin_password(console_server)
    page.goto("/login")
    wait_ready(page, "login")
    sign_in_with_form(page, "admin", "not-the-password")
    error = page.get_by_test_id("login-error")
    error.wait_for()
    assert "Invalid username or password" in error.inner_text()
    assert httpx.URL(page.url).path == "/login"
    assert "not-the-password" not in page.url


def test_too_many_failures_show_the_wait(page: Page, console_server: CorralServer) -> None:
    # Last in the module: the failures also count against this address.
    page.goto("/login")
    wait_ready(page, "login")
    wait = page.get_by_test_id("login-wait")
    submit = page.get_by_test_id("login-submit")
    for _ in range(12):
        sign_in_with_form(page, "nobody", "wrong-password")  # the click waits for the button
        poll(
            lambda: submit.inner_text() == "Sign in" and page.get_by_test_id("login-error").count()
        )
        if wait.is_visible():
            break
    assert wait.is_visible()
    assert "Too many failed sign-ins" in page.get_by_test_id("login-error").inner_text()
    assert re.search(r"Try again in \d+ s", wait.inner_text())
    assert submit.is_disabled()

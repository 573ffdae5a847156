"""The clusters home page in a real browser: live rows, import, kubeconfigs, text-only names.

One server for the module (management on, so the cluster controller makes
the `local` Cluster and each imported Cluster's registration commands). It
starts without a server URL, so the first import shows that the URL is
missing; the test then sets it and the commands arrive in the open dialog.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page

from kubectlproc import KUBECTL
from polling import poll
from serverproc import CorralServer
from ui.conftest import (
    PageErrors,
    admin_api,
    admin_password,
    screenshot,
    sign_in_as_admin,
    wait_ready,
)
from ui.homehelpers import own_server, sign_in_with_form

console_server = own_server("console-home")

CLUSTERS = "/apis/management.corral.io/v1/clusters"
SCRIPTED = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture
def server(console_server: CorralServer) -> CorralServer:
    return console_server


@pytest.fixture
def home(page: Page, console_server: CorralServer) -> Page:
    """A signed-in admin on the home page (1280 by 800), clipboard allowed."""
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=console_server.https_url
    )
    sign_in_as_admin(page, console_server)
    page.goto("/home")
    wait_ready(page, "home")
    return page


def _create_cluster(server: CorralServer, display: str, description: str = "") -> str:
    with admin_api(server) as http:
        body = {
            "apiVersion": "management.corral.io/v1",
            "kind": "Cluster",
            "metadata": {"generateName": "c-"},
            "spec": {"displayName": display, "description": description},
        }
        answer = http.post(CLUSTERS, json=body)
        assert answer.status_code == 201, answer.text
        name: str = answer.json()["metadata"]["name"]
        return name


def _row(page: Any, cluster: str) -> Any:
    return page.locator(f'[data-testid="cluster-row"][data-cluster="{cluster}"]')


def _set_server_url(server: CorralServer, value: str) -> None:
    with admin_api(server) as http:
        answer = http.patch(
            "/apis/management.corral.io/v1/settings/server-url",
            json={"value": value},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert answer.status_code == 200, answer.text


def test_import_shows_both_commands_live_and_copies_them(server: CorralServer, home: Page) -> None:
    page = home
    local = _row(page, "local")
    local.wait_for()
    assert local.get_by_test_id("cluster-name").inner_text() == "local"

    page.get_by_role("button", name="Import cluster").click()
    dialog = page.get_by_test_id("import-dialog")
    dialog.wait_for()
    dialog.get_by_label("Name").fill("edge-one")
    dialog.get_by_label("Description").fill("the edge site")
    dialog.get_by_role("button", name="Create").click()
    dialog.get_by_test_id("import-created").wait_for()
    # No server URL yet: the dialog says so and links to where it is set.
    missing = dialog.get_by_test_id("import-no-server-url")
    missing.wait_for()
    assert missing.get_by_role("link", name="Set the server URL").is_visible()
    screenshot(page, "import-no-server-url")

    # Once it is set, the commands arrive in the open dialog (live).
    _set_server_url(server, server.https_url)
    command = dialog.get_by_test_id("import-command")
    agent = dialog.get_by_test_id("import-agent-command")
    command.wait_for(timeout=15_000)
    agent.wait_for()
    assert command.input_value().startswith("kubectl apply -f ")
    assert f"{server.https_url}/v3/import/" in command.input_value()
    assert "corral agent" in agent.input_value()
    assert "--ca-checksum" in agent.input_value()
    screenshot(page, "import-commands")

    dialog.get_by_test_id("import-command-copy").click()
    poll(lambda: page.evaluate("navigator.clipboard.readText()") == command.input_value())
    dialog.get_by_test_id("import-agent-command-copy").click()
    poll(lambda: page.evaluate("navigator.clipboard.readText()") == agent.input_value())

    dialog.get_by_role("button", name="Done").click()
    assert not dialog.is_visible()
    row = page.locator('[data-testid="cluster-row"]', has_text="edge-one")
    row.wait_for()
    assert row.get_by_test_id("cluster-description").inner_text() == "the edge site"


def test_import_dialog_keyboard_focus_trap_and_escape(home: Page) -> None:
    page = home
    opener = page.get_by_role("button", name="Import cluster")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("import-dialog")
    dialog.wait_for()
    inside = "el => el.contains(document.activeElement)"
    assert dialog.evaluate(inside)
    assert page.evaluate("document.activeElement.id") == "import-name"
    for _ in range(8):
        page.keyboard.press("Tab")
        assert dialog.evaluate(inside)
    for _ in range(8):
        page.keyboard.press("Shift+Tab")
        assert dialog.evaluate(inside)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.dataset.testid") == "import-open"


def test_a_script_bearing_description_is_shown_as_text(server: CorralServer, home: Page) -> None:
    page = home
    alerts: list[str] = []

    def on_dialog(dialog: Any) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    name = _create_cluster(server, "<b>bold</b>", SCRIPTED)
    row = _row(page, name)
    row.wait_for()
    assert row.get_by_test_id("cluster-description").inner_text() == SCRIPTED
    assert row.get_by_test_id("cluster-name").inner_text() == "<b>bold</b>"
    assert row.locator("img, script, b").count() == 0
    assert page.locator("[data-testid=page-home] img, [data-testid=page-home] script").count() == 0
    page.reload()
    wait_ready(page, "home")
    _row(page, name).wait_for()
    assert alerts == []


def test_rows_follow_status_live(server: CorralServer, home: Page, page_errors: PageErrors) -> None:
    page = home
    # The cluster has no agent: its explorer's requests through the proxy are 503.
    page_errors.allow(r"status of 503 .*?/k8s/clusters/")
    name = _create_cluster(server, "live-one")
    row = _row(page, name)
    row.wait_for()
    # What the cluster health controllers write (the state stays the cluster
    # controller's: "pending", as no agent ever connected).
    status = {
        "version": {"gitVersion": "v1.32.3", "major": "1", "minor": "32"},
        "nodeCount": 3,
        "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "330"},
        "requested": {"cpu": "500m", "memory": "1Gi", "pods": "3"},
        "capacity": {"cpu": "2", "memory": "4Gi", "pods": "330"},
    }
    with admin_api(server) as http:

        def patched() -> bool:
            answer = http.patch(
                f"{CLUSTERS}/{name}/status",
                json={"status": status},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            return answer.status_code == 200

        poll(patched)
    poll(lambda: row.get_by_test_id("cluster-version").inner_text() == "v1.32.3")
    assert row.get_by_test_id("cluster-nodes").inner_text() == "3"
    assert row.get_by_test_id("cluster-state").inner_text() == "pending"
    assert row.get_by_test_id("bar-cpu").get_attribute("aria-valuenow") == "25"
    assert row.get_by_test_id("bar-cpu").inner_text() == "500m / 2"
    assert row.get_by_test_id("bar-memory").inner_text() == "1 GiB / 4 GiB"
    screenshot(page, "home-live-status")

    # The cluster switcher lists it too, live, and switching opens its explorer.
    switcher = page.get_by_test_id("cluster-switcher")
    assert switcher.locator("option", has_text="live-one").count() == 1
    switcher.select_option(name)
    page.wait_for_url(lambda url: httpx.URL(url).path == f"/c/{name}")
    assert page.get_by_test_id("nav-explorer").get_attribute("href") == f"/c/{name}"
    page.get_by_test_id("nav-home").click()
    wait_ready(page, "home")

    with admin_api(server) as http:
        assert http.delete(f"{CLUSTERS}/{name}").status_code in (200, 202)
    row.wait_for(state="detached", timeout=15_000)
    poll(lambda: switcher.locator("option", has_text="live-one").count() == 0)


def test_kubeconfig_downloads_are_valid_kubeconfigs(
    server: CorralServer, home: Page, tmp_path: Path
) -> None:
    _set_server_url(server, server.https_url)
    page = home
    with page.expect_download() as one:
        _row(page, "local").get_by_test_id("cluster-kubeconfig").click()
    assert one.value.suggested_filename == "local.yaml"
    path = tmp_path / "local.yaml"
    one.value.save_as(path)
    doc = yaml.safe_load(path.read_text())
    assert doc["kind"] == "Config"
    assert [c["cluster"]["server"] for c in doc["clusters"]] == [
        f"{server.https_url}/k8s/clusters/local"
    ]
    view = subprocess.run(
        [KUBECTL, "config", "get-contexts", "-o", "name", "--kubeconfig", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert view.returncode == 0, view.stderr
    assert view.stdout.split() == ["local"]

    with page.expect_download() as every:
        page.get_by_role("button", name="Kubeconfig for all clusters").click()
    assert every.value.suggested_filename == "all-clusters.yaml"
    all_path = tmp_path / "all.yaml"
    every.value.save_as(all_path)
    servers = {c["cluster"]["server"] for c in yaml.safe_load(all_path.read_text())["clusters"]}
    assert f"{server.https_url}/k8s/clusters/local" in servers
    assert len(servers) >= 2


def test_screenshots_at_both_sizes(home: Page) -> None:
    page = home
    _row(page, "local").wait_for()
    for width, height in ((1280, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"home-{width}x{height}")
        # Nothing overflows the page sideways at this size.
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_a_user_who_may_not_list_clusters_sees_the_error_state(
    page: Page, server: CorralServer
) -> None:
    with admin_api(server) as http:
        made = http.post(
            "/v3/users",
            json={
                "username": "viewer",
                "password": "viewer-password-1",
                "mustChangePassword": False,
            },
        )
        assert made.status_code == 201, made.text
    page.goto("/home")
    sign_in_with_form(page, "viewer", "viewer-password-1")
    wait_ready(page, "home")
    error = page.get_by_test_id("error")
    assert "forbidden" in error.inner_text()
    assert error.get_by_role("button", name="Try again").is_visible()
    page.get_by_test_id("user-menu").click()
    assert page.get_by_test_id("whoami").inner_text() == "viewer"


def test_an_ended_session_sends_the_user_to_the_login_page(home: Page) -> None:
    page = home
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "CORRAL_CSRF")
    # The session ends elsewhere (another tab logged out): its token is gone.
    ended = page.request.post("/v3/tokens?action=logout", headers={"X-API-CSRF": csrf})
    assert ended.status == 200
    _row(page, "local").get_by_test_id("cluster-kubeconfig").click()
    wait_ready(page, "login")
    assert httpx.URL(page.url).path == "/login"
    assert page.get_by_test_id("user-menu").count() == 0


def test_after_logout_the_next_sign_in_gets_its_own_live_list(
    server: CorralServer, home: Page
) -> None:
    page = home
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    wait_ready(page, "login")
    sign_in_with_form(page, "admin", admin_password(server))
    wait_ready(page, "home")
    _row(page, "local").wait_for()
    # The list is live again, over a socket of the new session.
    name = _create_cluster(server, "after-logout")
    _row(page, name).wait_for()

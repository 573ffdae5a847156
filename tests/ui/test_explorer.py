"""The cluster explorer in a real browser against a real server.

Each test drives the console as a user would (Chromium, signed in by
cookie) and checks what the user would notice: rows appearing and changing
without a reload, the server's validation error marked on the YAML line of
its field, confirmations naming the object, log lines arriving, and object
text shown as text. Objects are arranged and checked through the API with
the admin's token. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
import yaml

from .explorerfixtures import Console, browser, console, playwright_sync, ui_server

expect = playwright_sync.expect

__all__ = ["browser", "console", "ui_server"]

pytestmark = pytest.mark.timeout(180)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def make_namespace(ui: Console, name: str) -> None:
    with ui.kube() as kube:
        kube.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


def make_deployment(ui: Console, ns: str, name: str, replicas: int = 1) -> None:
    with ui.kube() as kube:
        answer = kube.post(
            f"/apis/apps/v1/namespaces/{ns}/deployments", json=deployment(name, replicas)
        )
        answer.raise_for_status()


def type_into_editor(ui: Console, text: str) -> None:
    """Replace the CodeMirror document with ``text`` (inserted as typed text, not keystrokes)."""
    editor = ui.page.locator(".cm-content")
    editor.wait_for()
    editor.click()
    ui.page.keyboard.press("Control+a")
    ui.page.keyboard.insert_text(text)


def row(ui: Console, name: str) -> Any:
    return ui.page.locator(f'[data-testid="row"][data-name="{name}"]')


def test_create_a_namespace_from_yaml(console: Console) -> None:
    name = unique("yaml-ns")
    console.goto_ready("/c/local/explorer/v1.namespaces", "page-resource-list")
    console.page.get_by_test_id("create-yaml").click()
    type_into_editor(console, f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
    console.page.get_by_test_id("create-submit").click()
    console.page.wait_for_url(re.compile(f"/c/local/explorer/v1.namespaces/_/{name}"))
    console.wait_ready("page-resource-detail")
    assert console.page.get_by_test_id("object-name").inner_text() == name
    with console.kube() as kube:
        assert kube.get(f"/api/v1/namespaces/{name}").json()["status"]["phase"] == "Active"


def test_pods_appear_and_run_in_the_list_without_a_reload(console: Console) -> None:
    ns = unique("live")
    make_namespace(console, ns)
    console.goto_ready(f"/c/local/explorer/v1.pods?namespace={ns}", "page-resource-list")
    console.page.get_by_test_id("empty").wait_for()
    make_deployment(console, ns, "web", replicas=2)
    rows = console.page.locator('[data-testid="row"]')
    rows.nth(1).wait_for()
    expect(rows.filter(has_text="Running")).to_have_count(2)
    assert rows.count() == 2
    assert all(n.startswith("web-") for n in rows.evaluate_all("rs => rs.map(r => r.dataset.name)"))


def test_scale_a_deployment_to_three_from_the_list(console: Console) -> None:
    ns = unique("scale")
    make_namespace(console, ns)
    make_deployment(console, ns, "web", replicas=1)
    console.goto_ready(
        f"/c/local/explorer/apps.v1.deployments?namespace={ns}", "page-resource-list"
    )
    row(console, "web").get_by_test_id("scale").click()
    field = console.page.get_by_test_id("scale-replicas")
    field.fill("3")
    console.page.get_by_test_id("scale-submit").click()
    # The Ready column follows the simulated pods live: 3/3 without a reload.
    row(console, "web").get_by_text("3/3").wait_for()
    with console.kube() as kube:
        assert (
            kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()["spec"]["replicas"]
            == 3
        )
    console.screenshot("explorer-list")


def test_a_validation_error_is_shown_at_its_field_in_the_yaml(console: Console) -> None:
    ns = unique("yaml")
    make_namespace(console, ns)
    make_deployment(console, ns, "web")
    console.goto_ready(
        f"/c/local/explorer/apps.v1.deployments/{ns}/web?tab=yaml", "page-resource-detail"
    )
    console.page.get_by_test_id("edit").click()
    with console.kube() as kube:
        current = kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()
    current["metadata"].pop("managedFields", None)
    current["spec"]["replicas"] = "x"
    text = yaml.safe_dump(current, sort_keys=False)
    type_into_editor(console, text)
    console.expect_http_error(422)
    console.page.get_by_test_id("save").click()
    errors = console.page.get_by_test_id("field-errors")
    errors.wait_for()
    expected_line = next(
        i + 1 for i, line in enumerate(text.splitlines()) if line.strip().startswith("replicas: x")
    )
    assert f"line {expected_line}: spec.replicas:" in errors.inner_text()
    # The editor marks that very line as a lint error.
    marked = console.page.locator(".cm-lintRange-error").first
    marked.wait_for()
    assert "replicas" in marked.inner_text()
    console.screenshot("explorer-yaml-error")
    with console.kube() as kube:
        assert (
            kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()["spec"]["replicas"]
            == 1
        )


def test_the_events_tab_lists_the_objects_events(console: Console) -> None:
    ns = unique("events")
    make_namespace(console, ns)
    console.goto_ready(
        f"/c/local/explorer/apps.v1.deployments?namespace={ns}", "page-resource-list"
    )
    make_deployment(console, ns, "web")
    console.page.locator('[data-testid="row"][data-name="web"] [data-testid="open"]').click()
    console.wait_ready("page-resource-detail")
    console.page.get_by_test_id("tab-events").click()
    # The deployment controller's event about this Deployment, and no other's.
    events = console.page.get_by_test_id("events")
    expect(events).to_contain_text("ScalingReplicaSet")
    expect(events).to_contain_text("Scaled up replica set web-")


def test_a_conflicting_save_offers_to_reload(console: Console) -> None:
    ns = unique("conflict")
    make_namespace(console, ns)
    make_deployment(console, ns, "web")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    console.goto_ready(
        f"/c/local/explorer/apps.v1.deployments/{ns}/web?tab=yaml", "page-resource-detail"
    )
    console.page.get_by_test_id("edit").click()
    console.page.locator(".cm-content").wait_for()
    with console.kube() as kube:
        patch = {"metadata": {"labels": {"changed": "elsewhere"}}}
        headers = {"content-type": "application/merge-patch+json"}
        kube.patch(path, json=patch, headers=headers).raise_for_status()
    console.expect_http_error(409)
    console.page.get_by_test_id("save").click()
    expect(console.page.get_by_test_id("save-error")).to_contain_text("modified")
    console.page.get_by_test_id("reload").click()
    expect(console.page.locator(".cm-content")).to_contain_text("changed: elsewhere")
    expect(console.page.get_by_test_id("edit")).to_be_visible()


def test_delete_asks_first_and_names_the_object(console: Console) -> None:
    ns = unique("del")
    make_namespace(console, ns)
    with console.kube() as kube:
        for name in ("keep", "drop"):
            body = {"metadata": {"name": name}, "data": {"k": "v"}}
            kube.post(f"/api/v1/namespaces/{ns}/configmaps", json=body).raise_for_status()
    console.goto_ready(f"/c/local/explorer/v1.configmaps?namespace={ns}", "page-resource-list")
    row(console, "drop").get_by_test_id("delete").click()
    dialog = console.page.get_by_test_id("dialog")
    assert f"{ns}/drop" in dialog.get_by_test_id("confirm-text").inner_text()
    # Focus stays inside the dialog, and Escape closes it without deleting.
    for _ in range(4):
        console.page.keyboard.press("Tab")
        assert console.page.evaluate("document.activeElement.closest('dialog') !== null")
    console.page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    with console.kube() as kube:
        assert kube.get(f"/api/v1/namespaces/{ns}/configmaps/drop").status_code == 200
    row(console, "drop").get_by_test_id("delete").click()
    console.page.get_by_test_id("confirm-delete").click()
    row(console, "drop").wait_for(state="detached")
    assert row(console, "keep").is_visible()
    with console.kube() as kube:
        assert kube.get(f"/api/v1/namespaces/{ns}/configmaps/drop").status_code == 404


def test_a_pods_log_streams_into_the_terminal(console: Console) -> None:
    ns = unique("logs")
    make_namespace(console, ns)
    make_deployment(console, ns, "talker")
    with console.kube() as kube:
        pod = ""
        deadline = time.monotonic() + 20
        while not pod:
            items = kube.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]
            running = [p for p in items if p.get("status", {}).get("phase") == "Running"]
            pod = running[0]["metadata"]["name"] if running else ""
            assert pod or time.monotonic() < deadline, "no running pod"
            if not pod:
                time.sleep(0.1)
    console.goto_ready(f"/c/local/explorer/v1.pods/{ns}/{pod}?tab=logs", "page-resource-detail")
    # At least three lines have arrived (the simulated container writes one every 0.2 s).
    lines = re.compile(r"^([3-9]|\d{2,})$")
    expect(console.page.get_by_test_id("log-state")).to_have_attribute("data-lines", lines)
    terminal = console.page.get_by_test_id("log-terminal")
    expect(terminal).to_contain_text(f"simulated container app of pod {ns}/{pod}")


def test_two_thousand_configmaps_scroll_virtually_and_search_filters_them(console: Console) -> None:
    ns = unique("many")
    make_namespace(console, ns)
    with console.kube() as kube:
        for i in range(2000):
            body = {"metadata": {"name": f"cm-{i:04d}"}}
            kube.post(f"/api/v1/namespaces/{ns}/configmaps", json=body).raise_for_status()
        # The namespace also holds what controllers put there (kube-root-ca.crt).
        total = len(kube.get(f"/api/v1/namespaces/{ns}/configmaps").json()["items"])
    assert total >= 2000
    start = time.monotonic()
    console.goto_ready(f"/c/local/explorer/v1.configmaps?namespace={ns}", "page-resource-list")
    loaded = time.monotonic() - start
    # The first page is on screen at once; the rest follow (one snapshot).
    expect(console.page.get_by_test_id("row-count")).to_have_text(f"{total} of {total}")
    rendered = console.page.locator('[data-testid="row"]').count()
    assert 0 < rendered < 100, rendered
    # Scrolling to the end renders the last rows, still only a window of them.
    console.page.get_by_test_id("rows").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    row(console, "cm-1999").wait_for()
    assert console.page.locator('[data-testid="row"]').count() < 100
    console.page.get_by_test_id("search").fill("cm-123")
    row(console, "cm-1234").wait_for()
    expect(console.page.get_by_test_id("row-count")).to_have_text(f"10 of {total}")
    assert loaded < 10, f"the list took {loaded:.1f}s"


def test_object_text_that_looks_like_markup_is_shown_as_text(console: Console) -> None:
    ns = unique("xss")
    make_namespace(console, ns)
    script = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    with console.kube() as kube:
        body = {"metadata": {"name": "bait", "annotations": {"description": script}}}
        kube.post(f"/api/v1/namespaces/{ns}/configmaps", json=body).raise_for_status()
    console.goto_ready(f"/c/local/explorer/v1.configmaps/{ns}/bait", "page-resource-detail")
    annotations = console.page.get_by_test_id("annotations")
    assert script in annotations.inner_text()
    assert annotations.locator("script, img").count() == 0
    assert console.page.evaluate("window.__pwned") is None


def test_a_label_selector_filters_on_the_server_and_a_bad_one_shows_its_error(
    console: Console,
) -> None:
    ns = unique("labels")
    make_namespace(console, ns)
    with console.kube() as kube:
        for name, tier in (("a", "web"), ("b", "db")):
            body = {"metadata": {"name": name, "labels": {"tier": tier}}}
            kube.post(f"/api/v1/namespaces/{ns}/configmaps", json=body).raise_for_status()
    console.goto_ready(f"/c/local/explorer/v1.configmaps?namespace={ns}", "page-resource-list")
    console.page.get_by_test_id("label-selector").fill("tier=db")
    console.page.get_by_test_id("label-selector").press("Enter")
    row(console, "b").wait_for()
    assert row(console, "a").count() == 0
    console.expect_http_error(400)
    console.page.get_by_test_id("label-selector").fill("tier in (")
    console.page.get_by_test_id("label-selector").press("Enter")
    error = console.page.get_by_test_id("error")
    error.wait_for()
    assert (
        "selector" in error.inner_text().lower() or "unable to parse" in error.inner_text().lower()
    )

"""Web console figures: paint and interactive times, initial JS, big lists.

A real server (subprocess, SQLite, TLS, management on, built-in controllers
off) pinned to core 0 serves the built console; Debian's Chromium, driven by
Playwright on localhost, loads pages as the signed-in admin. Every load is a
fresh browser context (a cold HTTP cache, as a first visit), and each figure
is the median over `LOADS` loads.

- **First contentful paint**: the browser's own ``first-contentful-paint``
  entry (ms after navigation start).
- **Interactive**: when the page's root (``data-testid="page-<route>"``) gets
  its ``data-ready`` attribute, i.e. its first data is on screen (the
  console's convention, docs/ui.md); measured in the page by a
  MutationObserver installed before any script runs.
- **Initial JS (gzip)**: the bytes on the wire, gzip-encoded as served, of
  the index chunk and its static imports (the ``modulepreload`` links of
  ``index.html``); and the JS the home page really fetched (resource timing).
- **Big lists**: the explorer on a namespace of 10,000 ConfigMaps, and the
  home page with 1,000 Clusters with a filled status.

Goals (issue 10): each time <= 1 s, initial JS <= 250 KB. A page that never
sets ``data-ready`` (a view not written yet) gets its paint measured and its
interactive time noted as missing.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Error, StorageState, sync_playwright

from bench.report import Figure, Run
from bench.server import Server, running_server
from corral.ui import STATIC_DIR

LOADS = 5
GOAL_MS = 1000.0
GOAL_KB = 250.0
CONFIGMAPS = 10_000
CLUSTERS = 1_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY_TIMEOUT_MS = 20_000
LOGIN = "/v3-public/localProviders/local?action=login"
PASSWORD = "bench-console-password-1"  # noqa: S105 (the bench server's admin, thrown away)
CLUSTERS_PATH = "/apis/management.corral.io/v1/clusters"

#: Records when the page's root gets data-ready (window.__readyAt, ms since navigation).
READY_OBSERVER = """
(() => {
  const ready = "[data-testid^='page-'][data-ready]";
  const check = () => {
    if (window.__readyAt === undefined && document.querySelector(ready)) {
      window.__readyAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true,
                                                 attributeFilter: ["data-ready"]});
})();
"""
_SCRIPT = re.compile(r'<script[^>]+src="(/assets/[^"]+\.js)"')
_PRELOAD = re.compile(r'<link[^>]+rel="modulepreload"[^>]+href="(/assets/[^"]+\.js)"')


def run(report: Run) -> None:
    if not (STATIC_DIR / "index.html").is_file():
        raise SystemExit("bench ui: the console is not built (make ui)")
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp), cpu=0, args=("--controllers", "-*")) as server,
    ):
        http = httpx.Client(
            base_url=server.https_url,
            verify=server.ca_file,
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=30,
        )
        _change_bootstrap_password(server)
        _initial_js(report, http)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                state = _signed_in_state(browser, server)
                _pages(report, browser, server, state, "")
                _in_thread(_configmaps(server))
                _pages(report, browser, server, state, "explorer")
                _in_thread(_clusters(server))
                _pages(report, browser, server, state, "home")
            finally:
                browser.close()


def _in_thread(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` on an event loop of its own (Playwright's sync API holds this thread's)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work).result()


def _change_bootstrap_password(server: Server) -> None:
    first = (server.data_dir / "bootstrap-password").read_text().strip()
    with httpx.Client(base_url=server.https_url, verify=server.ca_file) as anonymous:
        login = anonymous.post(LOGIN, json={"username": "admin", "password": first})
        login.raise_for_status()
        changed = anonymous.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": first, "newPassword": PASSWORD},
            headers={"Authorization": f"Bearer {login.json()['token']}"},
        )
        changed.raise_for_status()


def _signed_in_state(browser: Browser, server: Server) -> StorageState:
    context = browser.new_context(base_url=server.https_url, ignore_https_errors=True)
    try:
        answer = context.request.post(
            LOGIN, data={"username": "admin", "password": PASSWORD, "responseType": "cookie"}
        )
        assert answer.ok, answer.text()
        return context.storage_state()
    finally:
        context.close()


def _initial_js(report: Run, http: httpx.Client) -> None:
    index = http.get("/").text
    chunks = dict.fromkeys(_SCRIPT.findall(index) + _PRELOAD.findall(index))
    total = 0
    for chunk in chunks:
        answer = http.get(chunk, headers={"Accept-Encoding": "gzip"})
        answer.raise_for_status()
        total += int(answer.headers["content-length"])
    report.add(
        Figure(
            f"initial JS, gzip on the wire (index chunk + {len(chunks) - 1} static imports)",
            "KB",
            [total / 1000],
            at_most=GOAL_KB,
        )
    )


#: Which pages to load, by scenario: (label, URL, route name).
_PAGES = {
    "": [
        ("home page", "/home", "home"),
        ("explorer, pods of local", "/c/local/explorer/v1.pods", "resource-list"),
    ],
    "explorer": [
        (
            "explorer, 10,000 ConfigMaps in one namespace",
            "/c/local/explorer/v1.configmaps?namespace=bench",
            "resource-list",
        )
    ],
    "home": [("home page with 1,000 clusters", "/home", "home")],
}


def _pages(report: Run, browser: Browser, server: Server, state: StorageState, which: str) -> None:
    for label, url, route in _PAGES[which]:
        paints: list[float] = []
        readies: list[float] = []
        js: list[float] = []
        wait_ms = READY_TIMEOUT_MS
        for _ in range(LOADS):
            paint, ready, script_bytes = _load(browser, server, state, url, route, wait_ms)
            paints.append(paint)
            js.append(script_bytes / 1000)
            if ready is None:
                wait_ms = 0  # a page without data-ready: measure only its paint
            else:
                readies.append(ready)
        report.add(Figure(f"{label}: first contentful paint", "ms", paints, at_most=GOAL_MS))
        if len(readies) == LOADS:
            report.add(Figure(f"{label}: interactive (data-ready)", "ms", readies, at_most=GOAL_MS))
        else:
            report.notes.append(
                f"- {label} ({url}): the page never set data-ready within "
                f"{READY_TIMEOUT_MS / 1000:g} s; interactive not measured (is the view written?)"
            )
            print(f"  {label}: no data-ready, interactive not measured", flush=True)
        if which == "" and route == "home":
            report.add(Figure(f"{label}: JS fetched, encoded", "KB", js))


def _load(
    browser: Browser, server: Server, state: StorageState, url: str, route: str, wait_ms: float
) -> tuple[float, float | None, float]:
    """(first contentful paint ms, data-ready ms or None, script bytes) of one cold load."""
    context = browser.new_context(
        base_url=server.https_url,
        ignore_https_errors=True,
        storage_state=state,
        viewport={"width": 1920, "height": 1080},
    )
    try:
        context.add_init_script(READY_OBSERVER)
        page = context.new_page()
        page.goto(url)
        ready = True
        try:
            page.wait_for_selector(
                f'[data-testid="page-{route}"][data-ready]', state="attached", timeout=wait_ms or 1
            )
        except Error:
            ready = False
        deadline = time.monotonic() + 10
        while True:  # the paint entry is there once the page painted something
            values: dict[str, Any] = page.evaluate(
                """() => ({
                  paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime,
                  ready: window.__readyAt,
                  js: performance.getEntriesByType("resource")
                        .filter((r) => r.initiatorType === "script" || r.name.endsWith(".js"))
                        .reduce((sum, r) => sum + r.encodedBodySize, 0),
                })"""
            )
            if values.get("paint") is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        paint = float(values.get("paint") or -1)
        at = values.get("ready") if ready else None
        return paint, (None if at is None else float(at)), float(values["js"])
    finally:
        context.close()


async def _create_all(server: Server, requests: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Send ``requests`` (method, path, body) with a few in flight at a time."""
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(
        base_url=server.https_url,
        verify=server.ca_file,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    ) as http:

        async def one(method: str, path: str, body: dict[str, Any]) -> None:
            async with limit:
                answer = await http.request(method, path, json=body)
                assert answer.status_code < 300, answer.text

        await asyncio.gather(*(one(*r) for r in requests))


async def _configmaps(server: Server) -> None:
    await _create_all(server, [("POST", "/api/v1/namespaces", {"metadata": {"name": "bench"}})])
    await _create_all(
        server,
        [
            (
                "POST",
                "/api/v1/namespaces/bench/configmaps",
                {
                    "metadata": {"name": f"cm-{i:05d}", "labels": {"app": f"app-{i % 50}"}},
                    "data": {"key": f"value {i}"},
                },
            )
            for i in range(CONFIGMAPS)
        ],
    )


def _cluster_status(i: int) -> dict[str, Any]:
    now = "2026-11-24T08:00:00Z"
    ready = "True" if i % 10 else "False"
    return {
        "state": "active" if i % 10 else "unavailable",
        "conditions": [
            {
                "type": "Connected",
                "status": ready,
                "reason": "AgentConnected",
                "message": "",
                "lastTransitionTime": now,
                "lastUpdateTime": now,
            },
            {
                "type": "Ready",
                "status": ready,
                "reason": "APIReady",
                "message": "",
                "lastTransitionTime": now,
                "lastUpdateTime": now,
            },
        ],
        "version": {"gitVersion": "v1.32.3", "major": "1", "minor": "32"},
        "nodeCount": 3 + i % 7,
        "capacity": {"cpu": "12", "memory": "48Gi", "pods": "330"},
        "allocatable": {"cpu": "11500m", "memory": "46Gi", "pods": "330"},
        "requested": {"cpu": f"{1 + i % 10}", "memory": f"{4 + i % 30}Gi", "pods": f"{20 + i}"},
    }


async def _clusters(server: Server) -> None:
    names = [f"c-b{i:04d}" for i in range(CLUSTERS)]
    await _create_all(
        server,
        [
            (
                "POST",
                CLUSTERS_PATH,
                {"metadata": {"name": n}, "spec": {"displayName": f"bench {n}"}},
            )
            for n in names
        ],
    )
    async with httpx.AsyncClient(
        base_url=server.https_url,
        verify=server.ca_file,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    ) as http:
        limit = asyncio.Semaphore(8)

        async def fill(i: int, name: str) -> None:
            async with limit:
                for _ in range(5):  # the cluster controller writes status too: retry conflicts
                    current = (await http.get(f"{CLUSTERS_PATH}/{name}")).json()
                    current["status"] = {**current.get("status", {}), **_cluster_status(i)}
                    answer = await http.put(f"{CLUSTERS_PATH}/{name}/status", json=current)
                    if answer.status_code != 409:
                        assert answer.status_code == 200, answer.text
                        return

        await asyncio.gather(*(fill(i, n) for i, n in enumerate(names)))

"""The console's serving rules, on the HTTPS app in-process with a small build directory:
deep links, hashed assets and their caching, compression, revalidation, the
security headers, API paths left to the API, a missing build."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from corral.apiserver import APIServerApp, HealthChecks, HTTPMetrics
from corral.auth import BootstrapTokenAuthenticator
from corral.ui import CONTENT_SECURITY_POLICY, console

TOKEN = "console-test-token"
INDEX = (
    b'<!doctype html><html><head><script type="module" src="/assets/index-Ab12.js"></script>'
    b'</head><body><div id="app"></div></body></html>'
)
APP_JS = b"export const rows = [" + b", ".join(b'"row %d"' % i for i in range(2000)) + b"];\n"


def build_dir(root: Path) -> Path:
    """What ``npm run build`` writes, in small."""
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "favicon.svg").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    (root / "assets" / "index-Ab12.js").write_bytes(APP_JS)
    (root / "assets" / "index-Cd34.css").write_bytes(b"body{margin:0}")
    (root / ".secret").write_bytes(b"not served")
    return root


def app_for(root: Path) -> APIServerApp:
    web = console(root)
    return APIServerApp(
        authenticator=BootstrapTokenAuthenticator(hashlib.sha256(TOKEN.encode()).hexdigest()),
        health=HealthChecks(),
        metrics=HTTPMetrics(),
        routes=web.routes(),
        console=web.fallback(),
    )


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(build_dir(tmp_path / "static")))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert len(response.headers.get_list("cache-control")) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/c/local/explorer/v1.pods",
        "/c/local/explorer/apps.v1.deployments/default/web",
    ],
)
async def test_every_page_path_without_a_session_gets_index_html(
    web: httpx.AsyncClient, path: str
) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert_security_headers(response)


async def test_index_revalidates_with_its_etag(web: httpx.AsyncClient) -> None:
    first = await web.get("/", headers={"accept-encoding": "identity"})
    again = await web.get(
        "/", headers={"if-none-match": first.headers["etag"], "accept-encoding": "identity"}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert_security_headers(again)


async def test_hashed_assets_are_immutable_and_gzipped_for_clients_that_accept_it(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/assets/index-Ab12.js", headers={"accept-encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert int(response.headers["content-length"]) < len(APP_JS) / 3
    assert response.content == APP_JS  # httpx decodes
    assert_security_headers(response)

    plain = await web.get("/assets/index-Ab12.js", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(APP_JS)
    assert plain.headers["etag"] != response.headers["etag"]


async def test_a_precompressed_brotli_file_is_preferred(tmp_path: Path) -> None:
    root = build_dir(tmp_path / "static")
    (root / "assets" / "index-Ab12.js.br").write_bytes(b"pretend-brotli")
    transport = httpx.ASGITransport(app=app_for(root))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as c:
        headers = {"accept-encoding": "gzip, br"}
        async with c.stream("GET", "/assets/index-Ab12.js", headers=headers) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        async with c.stream(
            "GET", "/assets/index-Ab12.js", headers={"accept-encoding": "gzip"}
        ) as gz:
            zipped = b"".join([chunk async for chunk in gz.aiter_raw()])
    assert response.headers["content-encoding"] == "br"
    assert raw == b"pretend-brotli"
    assert gzip.decompress(zipped) == APP_JS


async def test_small_files_are_sent_as_they_are(web: httpx.AsyncClient) -> None:
    response = await web.get("/assets/index-Cd34.css", headers={"accept-encoding": "gzip"})
    assert response.content == b"body{margin:0}"
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing-0000.js",
        "/assets/",
        "/assets",
        "/assets/%2e%2e/index.html",
        "/assets/.hidden",
        "/assets/sub/x.js",
    ],
)
async def test_unknown_assets_are_404_never_the_page(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 404
    assert response.content != INDEX
    assert_security_headers(response)


async def test_top_level_build_files_by_name_but_no_hidden_ones(web: httpx.AsyncClient) -> None:
    icon = await web.get("/favicon.svg")
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.content.startswith(b"<svg")
    hidden = await web.get("/.secret")
    assert hidden.content == INDEX


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pods",
        "/apis",
        "/v3/users",
        "/v3-public/nothing",
        "/k8s/clusters/c-1/api",
        "/openapi/v2",
        "/metrics",
        "/version",
    ],
)
async def test_api_paths_stay_the_apis(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.content != INDEX
    assert response.status_code in (401, 404)
    if response.status_code == 401:
        assert orjson.loads(response.content)["reason"] == "Unauthorized"


async def test_writes_to_a_page_path_are_refused(web: httpx.AsyncClient) -> None:
    response = await web.post("/login", content=b"{}")
    assert response.status_code == 405


async def test_without_a_build_the_page_says_how_to_build_it(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=app_for(tmp_path / "nothing"))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as c:
        page = await c.get("/c/local/explorer")
        asset = await c.get("/assets/index-Ab12.js")
    assert page.status_code == 200
    assert "make run" in page.text
    assert page.headers["content-type"].startswith("text/plain")
    assert asset.status_code == 404


async def test_a_rebuild_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    root = build_dir(tmp_path / "static")
    transport = httpx.ASGITransport(app=app_for(root))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as c:
        assert (await c.get("/")).content == INDEX
        (root / "index.html").write_bytes(b"<!doctype html><p>new build</p>")
        assert (await c.get("/")).content == b"<!doctype html><p>new build</p>"

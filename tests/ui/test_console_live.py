"""The built console on a real ``corral server``: ``/`` and deep links over HTTPS
without a session, the plain-HTTP redirect, and ``--no-ui``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from corral.ui import CONTENT_SECURITY_POLICY, STATIC_DIR
from serverproc import CorralServer, module_server, running_server

server = module_server("console-live")


@pytest.fixture(scope="module")
def built_index() -> bytes:
    index = STATIC_DIR / "index.html"
    assert index.is_file(), "the console is not built: run `make test` (or npm run build in web/)"
    return index.read_bytes()


@pytest.fixture
def anonymous(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def test_the_console_and_its_deep_links_load_without_a_session(
    anonymous: httpx.Client, built_index: bytes
) -> None:
    for path in ("/", "/login", "/c/local/explorer/v1.pods?namespace=default"):
        response = anonymous.get(path)
        assert response.status_code == 200, path
        assert response.content == built_index
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"


def test_the_index_chunk_is_served_gzipped_and_immutable(
    anonymous: httpx.Client, built_index: bytes
) -> None:
    scripts = [part.split('"', 1)[0] for part in built_index.decode().split('src="')[1:]]
    chunk = next(s for s in scripts if s.startswith("/assets/") and s.endswith(".js"))
    response = anonymous.get(chunk, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == (STATIC_DIR / chunk.lstrip("/")).read_bytes()


def test_the_api_still_wants_credentials(anonymous: httpx.Client) -> None:
    assert anonymous.get("/api/v1/namespaces").status_code == 401
    assert anonymous.get("/v3/users").status_code == 401


def test_plain_http_redirects_the_console_to_https(server: CorralServer) -> None:
    response = httpx.get(f"{server.http_url}/c/local/explorer", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == f"{server.https_url}/c/local/explorer"


def test_no_ui_serves_no_console(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", ["--no-ui"]) as srv, srv.client() as client:
        response = client.get("/c/local")
        assert response.status_code == 401  # nothing but the API: this path needs a token
        assert "content-security-policy" not in response.headers
        assert client.get("/assets/index.js").status_code == 401

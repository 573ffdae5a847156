"""The HTTPS and plain-HTTP apps in-process: the pipeline, health, metrics and
redirects, driven through httpx's ASGI transport."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping

import httpx
import orjson
import pytest

from corral.apiserver import (
    PUBLIC_PATHS,
    APIServerApp,
    CheckFailed,
    HealthChecks,
    HTTPMetrics,
    HTTPRedirectApp,
)
from corral.auth import BootstrapTokenAuthenticator
from corral.machinery import UserInfo

TOKEN = "test-admin-token"
UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


@pytest.fixture
def health() -> HealthChecks:
    return HealthChecks()


@pytest.fixture
def metrics() -> HTTPMetrics:
    return HTTPMetrics()


@pytest.fixture
async def client(health: HealthChecks, metrics: HTTPMetrics) -> AsyncIterator[httpx.AsyncClient]:
    app = APIServerApp(
        authenticator=BootstrapTokenAuthenticator(hashlib.sha256(TOKEN.encode()).hexdigest()),
        health=health,
        metrics=metrics,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


@pytest.fixture
async def http_client(
    health: HealthChecks, metrics: HTTPMetrics
) -> AsyncIterator[httpx.AsyncClient]:
    app = HTTPRedirectApp(health=health, metrics=metrics, https_port=8443, default_host="127.0.0.1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_public_paths_are_health_version_login_and_what_agents_fetch() -> None:
    public = {"/healthz", "/livez", "/readyz", "/version", "/v3-public", "/cacerts"}
    public |= {"/v3/settings/cacerts", "/v3/import"}  # the CA agents pin; manifests (token in path)
    assert set(PUBLIC_PATHS) == public


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/healthz", "/readyz/", "/readyz/ping"])
async def test_health_ok_without_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.text == "ok"
    assert response.headers["content-type"].startswith("text/plain")


async def test_readyz_verbose_lists_checks(client: httpx.AsyncClient, health: HealthChecks) -> None:
    async def storage() -> None:
        return None

    health.add_readiness("storage", storage)
    response = await client.get("/readyz?verbose")
    assert response.status_code == 200
    assert response.text == ("[+]ping ok\n[+]storage ok\n[+]shutdown ok\nreadyz check passed\n")
    livez = await client.get("/livez?verbose")
    assert livez.text == "[+]ping ok\nlivez check passed\n"
    healthz = await client.get("/healthz?verbose")
    assert healthz.text == "[+]ping ok\n[+]storage ok\nhealthz check passed\n"


async def test_failing_check_gives_500_with_reason(
    client: httpx.AsyncClient, health: HealthChecks
) -> None:
    async def storage() -> None:
        raise CheckFailed("datastore is closed")

    health.add_readiness("storage", storage)
    response = await client.get("/readyz")
    assert response.status_code == 500
    assert response.text == (
        "[+]ping ok\n[-]storage failed: datastore is closed\n[+]shutdown ok\nreadyz check failed\n"
    )
    assert (await client.get("/livez")).status_code == 200
    assert (await client.get("/readyz/ping")).status_code == 200
    one = await client.get("/readyz/storage")
    assert one.status_code == 500
    assert "[-]storage failed: datastore is closed" in one.text
    assert (await client.get("/readyz?exclude=storage")).status_code == 200


async def test_shutdown_fails_readiness_only(
    client: httpx.AsyncClient, health: HealthChecks
) -> None:
    health.begin_shutdown()
    response = await client.get("/readyz")
    assert response.status_code == 500
    assert "[-]shutdown failed: the server is shutting down\n" in response.text
    assert response.text.endswith("readyz check failed\n")
    assert (await client.get("/livez")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200


async def test_unknown_check_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz/nope")
    assert response.status_code == 404
    assert response.json()["reason"] == "NotFound"


async def test_health_refuses_other_methods(client: httpx.AsyncClient) -> None:
    response = await client.post("/readyz")
    assert response.status_code == 405
    assert response.json()["reason"] == "MethodNotAllowed"


@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": f"Basic {TOKEN}"}])
@pytest.mark.parametrize("path", ["/metrics", "/api", "/nope"])
async def test_401_status_without_valid_token(
    client: httpx.AsyncClient, headers: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(response.content) == UNAUTHORIZED


async def test_404_status_for_unknown_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/path", headers=auth())
    assert response.status_code == 404
    body = response.json()
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["code"] == 404


async def test_metrics_counts_requests(client: httpx.AsyncClient) -> None:
    await client.get("/readyz")
    await client.get("/metrics")
    response = await client.get("/metrics", headers=auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert 'corral_http_requests_total{code="200",method="GET",path_class="readyz"} 1.0' in text
    assert 'corral_http_requests_total{code="401",method="GET",path_class="metrics"} 1.0' in text
    assert 'corral_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert 'corral_build_info{version="' in text


async def test_unknown_paths_share_one_metrics_label(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await client.get(f"/random/{i}", headers=auth())
    text = (await client.get("/metrics", headers=auth())).text
    assert 'corral_http_requests_total{code="404",method="GET",path_class="other"} 5.0' in text
    assert "/random/" not in text


class BrokenAuthenticator:
    async def authenticate(self, headers: Mapping[str, str]) -> UserInfo | None:
        raise RuntimeError("boom: secret detail")


async def test_a_bug_is_a_500_status_that_reveals_nothing(
    health: HealthChecks, metrics: HTTPMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    app = APIServerApp(authenticator=BrokenAuthenticator(), health=health, metrics=metrics)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as c:
        response = await c.get("/metrics", headers=auth())
    assert response.status_code == 500
    body = response.json()
    assert body["reason"] == "InternalError"
    assert "secret detail" not in response.text
    assert "boom: secret detail" in caplog.text  # the log has the traceback


async def test_http_app_serves_health(http_client: httpx.AsyncClient) -> None:
    response = await http_client.get("/readyz?verbose")
    assert response.status_code == 200
    assert response.text.endswith("readyz check passed\n")


@pytest.mark.parametrize(
    ("host", "location"),
    [
        ("example.test:8080", "https://example.test:8443/metrics?x=1"),
        ("example.test", "https://example.test:8443/metrics?x=1"),
        ("[::1]:8080", "https://[::1]:8443/metrics?x=1"),
        ("bad host\r\nx: y", "https://127.0.0.1:8443/metrics?x=1"),
    ],
)
async def test_http_app_redirects_everything_else(
    http_client: httpx.AsyncClient, host: str, location: str
) -> None:
    response = await http_client.get(
        "/metrics?x=1", headers={"Host": host, "Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 308
    assert response.headers["location"] == location
    assert TOKEN not in response.text
    assert all(TOKEN not in value for value in response.headers.values())


async def test_http_app_redirect_keeps_method_and_path(http_client: httpx.AsyncClient) -> None:
    response = await http_client.post("/api/v1/namespaces", headers={"Host": "h:1"})
    assert response.status_code == 308
    assert response.headers["location"] == "https://h:8443/api/v1/namespaces"

"""What crosses the proxy, seen by stand-in clusters, with Corral's app in-process.

Corral's HTTPS app (`APIServerApp`, its real filters) serves only the proxy
route here, reached with httpx's ASGI transport; its users are loopback
tokens. The clusters are stand-ins reached directly (an `AccessSource` of
the test): `recorder` records exactly which headers and bodies arrive and
answers with headers the proxy must pass, drop or replace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from corral.apiserver import APIServerApp, HealthChecks, HTTPMetrics, LoopbackAuthenticator
from corral.apiserver.asgi import Request, Response
from corral.client import ClusterConfig
from corral.client.dialing import ClusterAccess, ClusterUnavailable
from corral.machinery.authn import UserInfo
from corral.machinery.sessions import SESSION_COOKIE
from corral.machinery.status import Forbidden
from corral.proxy import ClusterNotFound, ClusterProxy, ProxyMetrics
from proxy.recorder import Recorder, recording_cluster
from serverproc import free_port

TOKEN = "echo-agent-token"
CORRAL_USER_GROUPS = ("corral:local",)


@dataclass
class Setup:
    http: httpx.AsyncClient
    proxy: ClusterProxy
    metrics: ProxyMetrics
    echo: Recorder
    alice: str
    robot: str


@pytest.fixture(scope="module")
def echo() -> Iterator[Recorder]:
    with recording_cluster() as recorder:
        yield recorder


@pytest.fixture
async def setup(echo: Recorder) -> AsyncIterator[Setup]:
    clusters = {
        "c-echo": ClusterConfig(server=echo.url, token=TOKEN),
        "c-gone": ClusterConfig(server=f"http://127.0.0.1:{free_port()}", token=TOKEN),
    }

    async def access(cluster: str) -> ClusterAccess:
        if cluster == "c-half":
            raise ClusterUnavailable("cluster c-half: agent not connected")
        if cluster not in clusters:
            raise ClusterNotFound(cluster)
        return ClusterAccess(cluster, clusters[cluster])

    async def may_use(user: UserInfo, cluster: str) -> bool:
        return user.name == "alice"

    metrics = ProxyMetrics()
    proxy = ClusterProxy(access, may_use, metrics=metrics)
    loopback = LoopbackAuthenticator()
    app = APIServerApp(
        authenticator=loopback,
        health=HealthChecks(),
        metrics=HTTPMetrics(),
        routes=[proxy.route()],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://corral") as http:
        yield Setup(
            http,
            proxy,
            metrics,
            echo,
            loopback.issue("alice", CORRAL_USER_GROUPS),
            loopback.issue("system:serviceaccount:default:robot"),
        )
    await proxy.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_outgoing_headers_come_from_the_allow_list(setup: Setup) -> None:
    setup.echo.requests.clear()
    answer = await setup.http.get(
        "/k8s/clusters/c-echo/api/v1/namespaces?limit=5",
        headers={
            **bearer(setup.alice),
            "Accept": "application/json",
            "User-Agent": "kubectl/v1.32.0",
            "X-Request-Id": "req-1",
            "Cookie": "R_SESS=abc",
            "X-API-CSRF": "csrf",
            "X-Forwarded-For": "10.0.0.1",
            "X-Custom-Evil": "1",
        },
    )
    assert answer.status_code == 200
    (seen,) = setup.echo.requests
    assert seen.path == "/api/v1/namespaces?limit=5"
    assert seen.header("authorization") == [f"Bearer {TOKEN}"]
    assert seen.header("impersonate-user") == ["alice"]
    assert sorted(seen.header("impersonate-group")) == ["corral:local", "system:authenticated"]
    assert seen.header("accept") == ["application/json"]
    assert seen.header("user-agent") == ["kubectl/v1.32.0"]
    assert seen.header("x-request-id") == ["req-1"]
    names = {n.lower() for n, _ in seen.headers}
    assert not names & {"cookie", "x-api-csrf", "x-forwarded-for", "x-custom-evil"}
    # The answer: the cluster's own headers pass, its cookie and hop-by-hop ones do not.
    assert answer.headers["x-cluster-header"] == "passes"
    assert "set-cookie" not in answer.headers
    assert "keep-alive" not in answer.headers
    assert answer.text == "<html>recorded</html>"


async def test_request_bodies_stream_through(setup: Setup) -> None:
    setup.echo.requests.clear()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"metadata":'
        yield b'{"name":"x"}}'

    path = "/k8s/clusters/c-echo/api/v1/namespaces/default/configmaps"
    headers = {**bearer(setup.alice), "Content-Type": "application/json"}
    assert (await setup.http.post(path, content=chunks(), headers=headers)).status_code == 200
    sized = await setup.http.put(f"{path}/x", content=b'{"data":{}}', headers=headers)
    assert sized.status_code == 200
    streamed, whole = setup.echo.requests
    assert (streamed.method, streamed.body) == ("POST", b'{"metadata":{"name":"x"}}')
    assert streamed.header("transfer-encoding") == ["chunked"]
    assert (whole.method, whole.body, whole.header("content-length")) == (
        "PUT",
        b'{"data":{}}',
        ["11"],
    )


async def test_service_proxy_answers_are_sandboxed(setup: Setup) -> None:
    path = "/k8s/clusters/c-echo/api/v1/namespaces/default/services/web:80/proxy/index.html"
    page = await setup.http.get(path, headers=bearer(setup.alice))
    assert page.status_code == 200
    assert page.headers.get_list("content-security-policy") == ["sandbox"]
    assert "set-cookie" not in page.headers


async def test_service_proxy_refuses_the_session_cookie(setup: Setup) -> None:
    """A request the session cookie authenticated (no Authorization header) is refused."""
    setup.echo.requests.clear()
    path = "/k8s/clusters/c-echo/api/v1/namespaces/default/services/web:80/proxy/"
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"cookie", f"{SESSION_COOKIE}=token-abcde:secret".encode())],
    }
    request = Request(scope)
    request.user = UserInfo("alice", groups=("system:authenticated",))
    with pytest.raises(Forbidden) as info:
        await setup.proxy.handle(request)
    assert "accepts bearer tokens only, not the session cookie" in info.value.message
    assert setup.echo.requests == []


async def test_an_upgrade_the_cluster_refuses_is_its_http_answer(setup: Setup) -> None:
    path = "/k8s/clusters/c-echo/refuse-upgrade"
    scope = {
        "type": "websocket",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "subprotocols": ["v5.channel.k8s.io"],
    }
    request = Request(scope)
    request.user = UserInfo("alice", groups=("system:authenticated",))
    answer = await setup.proxy.handle(request)
    assert isinstance(answer, Response)
    assert answer.status == 403
    assert b"upgrade refused by the cluster" in answer.body
    upgrade = setup.echo.requests[-1]
    assert upgrade.header("upgrade") == ["websocket"]
    assert upgrade.header("sec-websocket-protocol") == ["v5.channel.k8s.io"]
    assert upgrade.header("impersonate-user") == ["alice"]


async def test_identities_that_are_not_corral_users_are_refused(setup: Setup) -> None:
    setup.echo.requests.clear()
    refused = await setup.http.get("/k8s/clusters/c-echo/api", headers=bearer(setup.robot))
    assert refused.status_code == 403
    assert "only Corral users may reach downstream clusters" in refused.json()["message"]
    assert setup.echo.requests == []


async def test_unknown_unreachable_and_unavailable_clusters(setup: Setup) -> None:
    missing = await setup.http.get("/k8s/clusters/c-nosuch/api", headers=bearer(setup.alice))
    assert missing.status_code == 404
    gone = await setup.http.get("/k8s/clusters/c-gone/api", headers=bearer(setup.alice))
    assert gone.status_code == 503
    assert gone.json()["message"] == "error trying to reach cluster c-gone: ConnectError"
    half = await setup.http.get("/k8s/clusters/c-half/api", headers=bearer(setup.alice))
    assert half.status_code == 503
    assert half.json()["message"] == "cluster c-half is not connected"


async def test_metrics_count_answers_by_cluster_and_code(setup: Setup) -> None:
    await setup.http.get("/k8s/clusters/c-echo/version", headers=bearer(setup.alice))
    await setup.http.get("/k8s/clusters/c-echo/version", headers=bearer(setup.robot))
    await asyncio.sleep(0)
    text = "\n".join(
        f"{s.name}{sorted(s.labels.items())} {s.value}"
        for metric in setup.metrics.registry.collect()
        for s in metric.samples
    )
    assert "corral_proxy_requests_total[('cluster', 'c-echo'), ('code', '200')] 1.0" in text
    assert "corral_proxy_requests_total[('cluster', 'c-echo'), ('code', '403')] 1.0" in text
    assert "corral_proxy_request_duration_seconds_count[('cluster', 'c-echo')] 1.0" in text
    assert TOKEN not in text

"""What the proxy lets through, and what it refuses, against real servers.

Besides the downstream ``corral server`` of `topology`, a stand-in cluster
API (`recorder`) is registered as ``c-echo``: it records exactly which
headers arrive, which the downstream audit log cannot show.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from corral.machinery.sessions import SESSION_COOKIE
from proxy.recorder import EchoSocket, Recorder, recording_cluster, websocket_echo_cluster
from proxy.topology import CLUSTER, LOGIN, PASSWORD, Topology, register_cluster, topology
from serverproc import free_port

ECHO = "c-echo"
ECHO_TOKEN = "echo-agent-token"


@dataclass
class Setup:
    topo: Topology
    echo: Recorder
    sockets: EchoSocket

    def client(self, user: str) -> httpx.Client:
        return self.topo.management.client(self.topo.tokens[user])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with recording_cluster() as echo, websocket_echo_cluster() as sockets:
        for topo in topology(tmp_path_factory.mktemp("proxy-rules")):
            register_cluster(topo.management, ECHO, echo.url, "", ECHO_TOKEN)
            register_cluster(topo.management, "c-wsecho", sockets.url, "", ECHO_TOKEN)
            register_cluster(topo.management, "c-gone", f"https://127.0.0.1:{free_port()}", "", "t")
            register_cluster(topo.management, "c-half", "", "", "")
            yield Setup(topo, echo, sockets)


def test_outgoing_headers_come_from_the_allow_list(setup: Setup) -> None:
    setup.echo.requests.clear()
    with setup.client("alice") as http:
        answer = http.get(
            f"/k8s/clusters/{ECHO}/api/v1/namespaces?limit=5",
            headers={
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
    assert seen.header("authorization") == [f"Bearer {ECHO_TOKEN}"]
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


def test_request_bodies_stream_through(setup: Setup) -> None:
    setup.echo.requests.clear()

    def chunks() -> Iterator[bytes]:
        yield b'{"metadata":'
        yield b'{"name":"x"}}'

    with setup.client("alice") as http:
        answer = http.post(
            f"/k8s/clusters/{ECHO}/api/v1/namespaces/default/configmaps",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 200
        answer = http.put(
            f"/k8s/clusters/{ECHO}/api/v1/namespaces/default/configmaps/x",
            content=b'{"data":{}}',
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 200
    streamed, sized = setup.echo.requests
    assert (streamed.method, streamed.body) == ("POST", b'{"metadata":{"name":"x"}}')
    assert streamed.header("transfer-encoding") == ["chunked"]
    assert (sized.method, sized.body, sized.header("content-length")) == (
        "PUT",
        b'{"data":{}}',
        ["11"],
    )


def test_service_proxy_is_sandboxed_and_refuses_the_session_cookie(setup: Setup) -> None:
    setup.echo.requests.clear()
    path = f"/k8s/clusters/{ECHO}/api/v1/namespaces/default/services/web:80/proxy/index.html"
    with setup.client("alice") as http:
        page = http.get(path)
    assert page.status_code == 200
    assert page.headers.get_list("content-security-policy") == ["sandbox"]
    assert "set-cookie" not in page.headers
    with setup.topo.management.client() as http:
        login = http.post(
            LOGIN, json={"username": "alice", "password": PASSWORD, "responseType": "cookie"}
        )
        cookie = login.cookies[SESSION_COOKIE]
    with setup.topo.management.client() as http:
        refused = http.get(path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
        assert refused.status_code == 403
        assert "accepts bearer tokens only, not the session cookie" in refused.json()["message"]
        # The same cookie reaches the cluster's API itself (a safe method needs no CSRF token).
        api = http.get(
            f"/k8s/clusters/{ECHO}/api/v1/namespaces",
            headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
        )
        assert api.status_code == 200
    assert [r.path for r in setup.echo.requests] == [
        "/api/v1/namespaces/default/services/web:80/proxy/index.html",
        "/api/v1/namespaces",
    ]


def test_spdy_upgrades_are_refused_with_a_status(setup: Setup) -> None:
    with setup.client("alice") as http:
        refused = http.post(
            f"/k8s/clusters/{CLUSTER}/api/v1/namespaces/default/pods/p/exec?command=true",
            headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"},
        )
    assert refused.status_code == 400
    assert "SPDY upgrades are not supported" in refused.json()["message"]


def _ws_context(setup: Setup) -> ssl.SSLContext:
    return setup.topo.management.ssl_context()


def test_a_watch_over_websocket_is_relayed(setup: Setup) -> None:
    wss = setup.topo.proxied_url().replace("https://", "wss://")
    url = f"{wss}/api/v1/namespaces/default/configmaps?watch=true"
    headers = {"Authorization": f"Bearer {setup.topo.tokens['alice']}"}
    with connect(
        url,
        ssl=_ws_context(setup),
        additional_headers=headers,
        subprotocols=[Subprotocol("binary.k8s.io")],
    ) as ws:
        assert ws.subprotocol == "binary.k8s.io"
        with setup.topo.downstream.client(setup.topo.downstream.token) as http:
            made = http.post(
                "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "over-ws"}}
            )
            assert made.status_code == 201
        while True:
            message = ws.recv(timeout=10)
            assert isinstance(message, bytes)  # binary frames, as the cluster chose
            event = json.loads(message)
            if event["object"]["metadata"]["name"] == "over-ws":
                assert event["type"] == "ADDED"
                break


def test_messages_flow_both_ways_over_an_upgraded_connection(setup: Setup) -> None:
    """exec's shape: the client offers channel subprotocols and sends stdin; the cluster answers."""
    wss = setup.topo.proxied_url("c-wsecho").replace("https://", "wss://")
    url = f"{wss}/api/v1/namespaces/default/pods/p/exec?command=sh&stdin=true&stdout=true"
    headers = {"Authorization": f"Bearer {setup.topo.tokens['alice']}"}
    offered = [Subprotocol("v5.channel.k8s.io"), Subprotocol("v4.channel.k8s.io")]
    with connect(
        url, ssl=_ws_context(setup), additional_headers=headers, subprotocols=offered
    ) as ws:
        assert ws.subprotocol == "v5.channel.k8s.io"
        ws.send(b"\x00echo hello\n")
        assert ws.recv(timeout=10) == b"\x00echo hello\n"
        ws.send("text too")
        assert ws.recv(timeout=10) == "text too"
        big = bytes(range(256)) * 1024  # several frames' worth
        ws.send(big)
        assert ws.recv(timeout=10) == big
    upgrade = {n.lower(): v for n, v in setup.sockets.upgrades[-1]}
    assert upgrade["impersonate-user"] == "alice"
    assert upgrade["authorization"] == f"Bearer {ECHO_TOKEN}"
    assert upgrade["sec-websocket-protocol"] == "v5.channel.k8s.io, v4.channel.k8s.io"

    # A browser's token rides in a subprotocol: it authenticates, and never goes downstream.
    token = base64.urlsafe_b64encode(setup.topo.tokens["alice"].encode()).decode().rstrip("=")
    bearer = f"base64url.bearer.authorization.k8s.io.{token}"
    with connect(
        url,
        ssl=_ws_context(setup),
        subprotocols=[Subprotocol(bearer), Subprotocol("v5.channel.k8s.io")],
    ) as ws:
        ws.send(b"\x00x")
        assert ws.recv(timeout=10) == b"\x00x"
    upgrade = {n.lower(): v for n, v in setup.sockets.upgrades[-1]}
    assert upgrade["sec-websocket-protocol"] == "v5.channel.k8s.io"
    assert token not in str(setup.sockets.upgrades[-1])


def test_an_upgrade_the_cluster_refuses_is_answered_over_http(setup: Setup) -> None:
    wss = setup.topo.proxied_url().replace("https://", "wss://")
    headers = {"Authorization": f"Bearer {setup.topo.tokens['alice']}"}
    with pytest.raises(InvalidStatus) as info:
        connect(f"{wss}/api/v1/namespaces", ssl=_ws_context(setup), additional_headers=headers)
    assert info.value.response.status_code == 400
    assert b"only watch requests" in info.value.response.body
    echo = setup.topo.proxied_url(ECHO).replace("https://", "wss://")
    with pytest.raises(InvalidStatus) as info:
        connect(f"{echo}/refuse-upgrade", ssl=_ws_context(setup), additional_headers=headers)
    assert info.value.response.status_code == 403
    assert b"upgrade refused by the cluster" in info.value.response.body
    upgrade = setup.echo.requests[-1]
    assert upgrade.header("upgrade") == ["websocket"]
    assert upgrade.header("impersonate-user") == ["alice"]


def test_identities_that_are_not_corral_users_are_refused(setup: Setup) -> None:
    management = setup.topo.management
    with management.client(management.token) as http:
        http.post(
            "/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "robot"}}
        )
        token = http.post(
            "/api/v1/namespaces/default/serviceaccounts/robot/token", json={"spec": {}}
        ).json()["status"]["token"]
    setup.echo.requests.clear()
    with management.client(token) as http:
        refused = http.get(f"/k8s/clusters/{ECHO}/api/v1/namespaces")
    assert refused.status_code == 403
    assert "only Corral users may reach downstream clusters" in refused.json()["message"]
    assert setup.echo.requests == []


def test_the_local_cluster_is_corral_itself(setup: Setup) -> None:
    management = setup.topo.management
    with management.client(management.token) as http:
        own = http.get(f"/k8s/clusters/local/api/v1/namespaces/{CLUSTER}")
        assert own.status_code == 200  # the namespace exists on the management server only
        assert own.json()["metadata"]["name"] == CLUSTER
        nested = http.get(f"/k8s/clusters/local/k8s/clusters/{CLUSTER}/api")
        assert nested.status_code == 404
    with setup.client("alice") as http:
        # alice may use clusters, but Corral's own RBAC still decides what she may do in it.
        refused = http.get("/k8s/clusters/local/api/v1/namespaces")
        assert refused.status_code == 403
        assert 'User "alice" cannot list resource "namespaces"' in refused.json()["message"]


def test_unreachable_and_unavailable_clusters(setup: Setup) -> None:
    with setup.client("alice") as http:
        gone = http.get("/k8s/clusters/c-gone/api")
        assert gone.status_code == 503
        assert gone.json()["message"] == "error trying to reach cluster c-gone: ConnectError"
        half = http.get("/k8s/clusters/c-half/api")
        assert half.status_code == 503
        assert half.json()["message"] == "cluster c-half is not connected"


def test_metrics_count_answers_by_cluster_and_code(setup: Setup) -> None:
    with setup.client("alice") as http:
        http.get(f"/k8s/clusters/{ECHO}/version")
    management = setup.topo.management
    with management.client(management.token) as http:
        text = http.get("/metrics").text
    assert 'corral_proxy_requests_total{cluster="c-echo",code="200"}' in text
    assert 'corral_proxy_request_duration_seconds_count{cluster="c-echo"}' in text
    assert ECHO_TOKEN not in text
    assert setup.topo.tokens["alice"].split(":")[1] not in management.stderr()

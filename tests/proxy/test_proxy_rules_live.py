"""The proxy's rules against real servers, through a real agent's tunnel (`topology`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from corral.machinery.sessions import SESSION_COOKIE
from e2e.importtopology import LOGIN, PASSWORD
from proxy.topology import Topology, create_cluster, topology


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    yield from topology(tmp_path_factory.mktemp("proxy-rules"))


def test_spdy_upgrades_are_refused_with_a_status(topo: Topology) -> None:
    with topo.management.client(topo.tokens["alice"]) as http:
        refused = http.post(
            f"/k8s/clusters/{topo.cluster}/api/v1/namespaces/default/pods/p/exec?command=true",
            headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"},
        )
    assert refused.status_code == 400
    assert "SPDY upgrades are not supported" in refused.json()["message"]


def test_a_watch_over_websocket_is_relayed(topo: Topology) -> None:
    """A browser's way: the token in Kubernetes' bearer subprotocol, binary frames chosen."""
    wss = topo.proxied_url().replace("https://", "wss://")
    url = f"{wss}/api/v1/namespaces/default/configmaps?watch=true"
    token = base64.urlsafe_b64encode(topo.tokens["alice"].encode()).decode().rstrip("=")
    offered = [
        Subprotocol(f"base64url.bearer.authorization.k8s.io.{token}"),
        Subprotocol("binary.k8s.io"),
    ]
    with connect(url, ssl=topo.management.ssl_context(), subprotocols=offered) as ws:
        assert ws.subprotocol == "binary.k8s.io"
        with topo.downstream.client(topo.downstream.token) as http:
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


def test_an_upgrade_the_cluster_refuses_is_answered_over_http(topo: Topology) -> None:
    wss = topo.proxied_url().replace("https://", "wss://")
    headers = {"Authorization": f"Bearer {topo.tokens['alice']}"}
    with pytest.raises(InvalidStatus) as info:
        connect(
            f"{wss}/api/v1/namespaces",
            ssl=topo.management.ssl_context(),
            additional_headers=headers,
        )
    # The downstream Corral server serves only watches over WebSocket: its 400, relayed.
    assert info.value.response.status_code == 400
    assert b"only watch requests" in info.value.response.body


def test_service_proxy_is_sandboxed_and_refuses_the_session_cookie(topo: Topology) -> None:
    path = f"/k8s/clusters/{topo.cluster}/api/v1/namespaces/default/services/web:80/proxy/"
    with topo.management.client(topo.tokens["alice"]) as http:
        page = http.get(path)
    assert page.status_code != 403  # whatever the cluster answers, it is sandboxed
    assert page.headers.get_list("content-security-policy") == ["sandbox"]
    with topo.management.client() as http:
        login = http.post(
            LOGIN, json={"username": "alice", "password": PASSWORD, "responseType": "cookie"}
        )
        cookie = {"Cookie": f"{SESSION_COOKIE}={login.cookies[SESSION_COOKIE]}"}
    with topo.management.client() as http:
        refused = http.get(path, headers=cookie)
        assert refused.status_code == 403
        assert "accepts bearer tokens only, not the session cookie" in refused.json()["message"]
        # The same cookie reaches the cluster's API itself (a GET needs no CSRF token).
        api = http.get(f"/k8s/clusters/{topo.cluster}/api/v1/namespaces", headers=cookie)
        assert api.status_code == 200
        assert "corral-system" in api.text


def test_the_local_cluster_is_corral_itself(topo: Topology) -> None:
    management = topo.management
    with management.client(management.token) as http:
        own = http.get(f"/k8s/clusters/local/api/v1/namespaces/{topo.cluster}")
        assert own.status_code == 200  # the cluster's namespace on the management server
        assert own.json()["metadata"]["name"] == topo.cluster
        nested = http.get(f"/k8s/clusters/local/k8s/clusters/{topo.cluster}/api")
        assert nested.status_code == 404
    # A watch over WebSocket on local is Corral's own watch.
    wss = topo.proxied_url("local").replace("https://", "wss://")
    url = f"{wss}/api/v1/namespaces/default/configmaps?watch=true"
    headers = {"Authorization": f"Bearer {management.token}"}
    with connect(url, ssl=management.ssl_context(), additional_headers=headers) as ws:
        with management.client(management.token) as http:
            made = http.post(
                "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "local-ws"}}
            )
            assert made.status_code == 201
        while True:
            event = json.loads(ws.recv(timeout=10))
            if event["object"]["metadata"]["name"] == "local-ws":
                break
    with management.client(topo.tokens["alice"]) as http:
        # alice may use clusters, but Corral's own RBAC still decides what she may do in it.
        refused = http.get("/k8s/clusters/local/api/v1/namespaces")
        assert refused.status_code == 403
        assert 'User "alice" cannot list resource "namespaces"' in refused.json()["message"]


def test_a_cluster_whose_agent_is_not_connected(topo: Topology) -> None:
    waiting, _ = create_cluster(topo.management, "never-imported")
    with topo.management.client(topo.tokens["alice"]) as http:
        answer = http.get(f"/k8s/clusters/{waiting}/api")
    assert answer.status_code == 503
    assert answer.json()["message"] == f"cluster {waiting} is not connected"


def test_metrics_count_answers_by_cluster_and_code(topo: Topology) -> None:
    with topo.management.client(topo.tokens["alice"]) as http:
        assert http.get(f"/k8s/clusters/{topo.cluster}/version").status_code == 200
    management = topo.management
    with management.client(management.token) as http:
        text = http.get("/metrics").text
    assert f'corral_proxy_requests_total{{cluster="{topo.cluster}",code="200"}}' in text
    assert f'corral_proxy_request_duration_seconds_count{{cluster="{topo.cluster}"}}' in text
    assert topo.tokens["alice"].split(":")[1] not in management.stderr()

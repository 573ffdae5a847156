"""Watches over WebSocket against a real ``corral server``, with a real WebSocket client.

One server for the module (a tiny watch-cache ring, so that an old
resourceVersion meets 410 Expired quickly); changes are made over HTTPS
and seen as WebSocket messages. Every wait is a receive with a deadline.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from serverproc import CorralServer, module_server

RING = 8
RECV = 10.0
GAUGE = "corral_http_long_running_requests{"


server = module_server("wswatch", env={"CORRAL_WATCH_CACHE_SIZE": str(RING)})


@pytest.fixture(scope="module")
def http(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as c:
        c.headers["Connection"] = "close"
        yield c


@pytest.fixture
def ns(http: httpx.Client) -> str:
    name = "ws-" + uuid.uuid4().hex[:8]
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    return name


def ws_url(server: CorralServer, path: str) -> str:
    return server.https_url.replace("https://", "wss://", 1) + path


def open_ws(
    server: CorralServer,
    path: str,
    token: str | None = "",
    subprotocols: list[str] | None = None,
) -> ClientConnection:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token or server.token}"
    return connect(
        ws_url(server, path),
        ssl=server.ssl_context(),
        additional_headers=headers,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        open_timeout=RECV,
    )


def event(ws: ClientConnection) -> dict[str, Any]:
    message = ws.recv(timeout=RECV)
    assert isinstance(message, str), "watch events are text frames by default"
    assert message.endswith("\n")
    parsed: dict[str, Any] = orjson.loads(message)
    return parsed


def create_cm(http: httpx.Client, ns: str, name: str, **labels: str) -> dict[str, Any]:
    body = {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}
    response = http.post(f"/api/v1/namespaces/{ns}/configmaps", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_added_modified_deleted_as_messages(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    create_cm(http, ns, "before")
    with open_ws(server, f"/api/v1/namespaces/{ns}/configmaps?watch=true") as ws:
        assert ws.subprotocol is None
        first = event(ws)
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "before")
        create_cm(http, ns, "a")
        added = event(ws)
        assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "a")
        patch = {"data": {"k": "w"}}
        response = http.patch(
            f"/api/v1/namespaces/{ns}/configmaps/a",
            content=orjson.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
        modified = event(ws)
        assert modified["type"] == "MODIFIED"
        assert modified["object"]["data"] == {"k": "w"}
        assert http.delete(f"/api/v1/namespaces/{ns}/configmaps/a").status_code == 200
        deleted = event(ws)
        assert (deleted["type"], deleted["object"]["metadata"]["name"]) == ("DELETED", "a")


def test_resume_from_resource_version(server: CorralServer, http: httpx.Client, ns: str) -> None:
    first = create_cm(http, ns, "one")
    create_cm(http, ns, "two")
    create_cm(http, ns, "three")
    rv = first["metadata"]["resourceVersion"]
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv}"
    with open_ws(server, path) as ws:
        names = [event(ws)["object"]["metadata"]["name"] for _ in range(2)]
        assert names == ["two", "three"]


def test_label_selector(server: CorralServer, http: httpx.Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=true&labelSelector=app%3Dweb"
    with open_ws(server, path) as ws:
        create_cm(http, ns, "db", app="db")
        create_cm(http, ns, "web", app="web")
        got = event(ws)
        assert (got["type"], got["object"]["metadata"]["name"]) == ("ADDED", "web")


def test_timeout_seconds_closes_the_socket(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    started = time.monotonic()
    with open_ws(server, f"/api/v1/namespaces/{ns}/configmaps?watch=true&timeoutSeconds=1") as ws:
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=RECV)
        assert ws.close_code == 1000
    assert time.monotonic() - started < RECV


def test_expired_resource_version_is_one_error_then_close(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    first = create_cm(http, ns, "old")
    for i in range(RING + 2):
        create_cm(http, ns, f"later-{i}")
    rv = first["metadata"]["resourceVersion"]
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}"
    with open_ws(server, path) as ws:
        error = event(ws)
        assert error["type"] == "ERROR"
        assert error["object"]["code"] == 410
        assert error["object"]["reason"] == "Expired"
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=RECV)


def test_no_token_is_401_before_the_handshake(server: CorralServer, ns: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(server, f"/api/v1/namespaces/{ns}/configmaps?watch=true", token=None)
    assert info.value.response.status_code == 401
    status = orjson.loads(info.value.response.body or b"{}")
    assert (status["kind"], status["reason"]) == ("Status", "Unauthorized")
    with pytest.raises(InvalidStatus) as bad:
        open_ws(server, "/api/v1/configmaps?watch=true", token="not-a-valid-token")
    assert bad.value.response.status_code == 401


def test_bearer_token_subprotocol(server: CorralServer, http: httpx.Client, ns: str) -> None:
    encoded = base64.urlsafe_b64encode(server.token.encode()).decode().rstrip("=")
    protocols = [f"base64url.bearer.authorization.k8s.io.{encoded}"]
    create_cm(http, ns, "seen")
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=true"
    with open_ws(server, path, token=None, subprotocols=protocols) as ws:
        assert ws.subprotocol is None
        assert event(ws)["object"]["metadata"]["name"] == "seen"


def test_binary_subprotocols(server: CorralServer, http: httpx.Client, ns: str) -> None:
    create_cm(http, ns, "bin")
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=true"
    with open_ws(server, path, subprotocols=["binary.k8s.io"]) as ws:
        assert ws.subprotocol == "binary.k8s.io"
        message = ws.recv(timeout=RECV)
        assert isinstance(message, bytes)
        assert orjson.loads(message)["object"]["metadata"]["name"] == "bin"
    with open_ws(server, path, subprotocols=["base64.binary.k8s.io", "binary.k8s.io"]) as ws:
        assert ws.subprotocol == "base64.binary.k8s.io"
        text = ws.recv(timeout=RECV)
        assert isinstance(text, str)
        assert orjson.loads(base64.b64decode(text))["object"]["metadata"]["name"] == "bin"


def test_only_watches_are_upgraded(server: CorralServer) -> None:
    for path in ("/api/v1/configmaps", "/api/v1/namespaces/default", "/metrics", "/apis"):
        with pytest.raises(InvalidStatus) as info:
            open_ws(server, path)
        assert info.value.response.status_code == 400, path
        status = orjson.loads(info.value.response.body or b"{}")
        assert status["reason"] == "BadRequest"
    with pytest.raises(InvalidStatus) as missing:
        open_ws(server, "/api/v1/nothings?watch=true")
    assert missing.value.response.status_code == 404


def _open_websocket_watches(http: httpx.Client) -> float:
    text = http.get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(GAUGE) and 'transport="websocket"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_disconnect_frees_the_watch(server: CorralServer, http: httpx.Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=true"
    with open_ws(server, path) as ws:
        create_cm(http, ns, "x")
        event(ws)
        assert _open_websocket_watches(http) >= 1
    deadline = time.monotonic() + RECV
    while _open_websocket_watches(http) > 0:
        assert time.monotonic() < deadline, "the server kept the watch of a gone client"
        time.sleep(0.05)

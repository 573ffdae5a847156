"""``/v3/subscribe`` against a real ``corral server`` with a real WebSocket client.

One server for the module: a tiny watch-cache ring (an old resourceVersion
meets 410 Expired quickly) and watches that end after 2 seconds (so the
server's resuming of a watch that ended is exercised by every test here).
Changes are made over HTTPS; every wait is a receive with a deadline.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from rbachelpers import binding_body, must_create, role_body, rules, sa, sa_token, wait_allowed
from serverproc import CorralServer, module_server

RING = 8
WATCH_SECONDS = 2
RECV = 10.0
LONG_RUNNING = "corral_http_long_running_requests{"

server = module_server(
    "subscribe",
    env={"CORRAL_WATCH_CACHE_SIZE": str(RING), "CORRAL_WATCH_TIMEOUT": str(WATCH_SECONDS)},
)


@pytest.fixture(scope="module")
def http(server: CorralServer) -> Iterator[httpx.Client]:
    with server.client(server.token) as c:
        yield c


@pytest.fixture
def ns(http: httpx.Client) -> str:
    name = "sub-" + uuid.uuid4().hex[:8]
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    return name


def open_socket(
    server: CorralServer, token: str | None = "", headers: dict[str, str] | None = None
) -> ClientConnection:
    extra = dict(headers or {})
    if token is not None:
        extra["Authorization"] = f"Bearer {token or server.token}"
    return connect(
        server.https_url.replace("https://", "wss://", 1) + "/v3/subscribe",
        ssl=server.ssl_context(),
        additional_headers=extra,
        open_timeout=RECV,
    )


def subscribe(ws: ClientConnection, sub_id: str, path: str, **options: Any) -> None:
    ws.send(orjson.dumps({"op": "subscribe", "id": sub_id, "path": path, **options}).decode())


def receive(ws: ClientConnection, timeout: float = RECV) -> dict[str, Any]:
    """The next message that is not a BOOKMARK, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
        assert isinstance(message, str)
        parsed: dict[str, Any] = orjson.loads(message)
        if parsed["type"] != "BOOKMARK":
            return parsed


def create_cm(http: httpx.Client, ns: str, name: str, **labels: str) -> dict[str, Any]:
    body = {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}
    response = http.post(f"/api/v1/namespaces/{ns}/configmaps", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def list_rv(http: httpx.Client, path: str) -> str:
    rv: str = http.get(path).json()["metadata"]["resourceVersion"]
    return rv


def long_running_watches(http: httpx.Client) -> float:
    """Open long-running requests of the ``api`` route over plain streaming (the
    in-process watches of subscriptions)."""
    total = 0.0
    for line in http.get("/metrics").text.splitlines():
        if (
            line.startswith(LONG_RUNNING)
            and 'path_class="api"' in line
            and 'transport="http"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_many_subscriptions_share_one_socket(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    other = ns + "-b"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": other}}).status_code == 201
    rv = list_rv(http, "/api/v1/configmaps")
    with open_socket(server) as ws:
        subscribe(ws, "a", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=rv)
        subscribe(ws, "b", f"/api/v1/namespaces/{other}/configmaps", resourceVersion=rv)
        subscribe(ws, "web", "/api/v1/configmaps", resourceVersion=rv, labelSelector="app=web")
        create_cm(http, ns, "one")
        create_cm(http, other, "two", app="web")
        seen: dict[str, list[str]] = {"a": [], "b": [], "web": []}
        while sum(len(v) for v in seen.values()) < 3:
            message = receive(ws)
            assert message["type"] == "ADDED", message
            seen[message["id"]].append(message["object"]["metadata"]["name"])
        assert seen == {"a": ["one"], "b": ["two"], "web": ["two"]}


def test_a_user_without_list_rights_gets_403_for_that_subscription_only(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    allowed, refused = ns, ns + "-x"
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": refused}}).status_code == 201
    token = sa_token(http, allowed, "viewer")
    must_create(
        http, role_body("cm-watch", rules((["list", "watch"], [""], ["configmaps"])), allowed)
    )
    must_create(
        http, binding_body("cm-watch", ("Role", "cm-watch"), [sa(allowed, "viewer")], allowed)
    )
    who = f"system:serviceaccount:{allowed}:viewer"
    wait_allowed(
        server,
        who,
        ["system:serviceaccounts"],
        {"verb": "watch", "resource": "configmaps", "namespace": allowed},
    )
    with open_socket(server, token) as ws:
        subscribe(ws, "mine", f"/api/v1/namespaces/{allowed}/configmaps")
        subscribe(ws, "theirs", f"/api/v1/namespaces/{refused}/configmaps")
        error = receive(ws)
        assert error["id"] == "theirs"
        assert error["type"] == "ERROR"
        assert error["object"]["code"] == 403
        assert who in error["object"]["message"]
        create_cm(http, refused, "secret-plans")
        create_cm(http, allowed, "visible")
        added = receive(ws)
        assert (added["id"], added["type"]) == ("mine", "ADDED")
        assert added["object"]["metadata"]["name"] == "visible"
    # An admin impersonating the service account gets exactly its rights.
    with open_socket(server, headers={"Impersonate-User": who}) as ws:
        subscribe(ws, "theirs", f"/api/v1/namespaces/{refused}/configmaps")
        error = receive(ws)
        assert (error["id"], error["object"]["code"]) == ("theirs", 403)
        assert who in error["object"]["message"]


def test_a_watch_that_ends_is_resumed_from_the_last_resource_version(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    rv = list_rv(http, f"/api/v1/namespaces/{ns}/configmaps")
    names = [f"cm-{i}" for i in range(6)]
    with open_socket(server) as ws:
        subscribe(ws, "s", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=rv)
        started = time.monotonic()
        received: list[str] = []
        for name in names:
            create_cm(http, ns, name)
            message = receive(ws)
            assert (message["id"], message["type"]) == ("s", "ADDED")
            received.append(message["object"]["metadata"]["name"])
            # Spread the writes over more than two watch lifetimes.
            time.sleep(WATCH_SECONDS * 2.5 / len(names))
        assert time.monotonic() - started > 2 * WATCH_SECONDS
        assert received == names  # none lost, none repeated across the resumes
        create_cm(http, ns, "last")
        message = receive(ws)
        assert message["object"]["metadata"]["name"] == "last"


def test_expired_resource_version_is_an_error_410_and_ends_the_subscription(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    old = list_rv(http, "/api/v1/configmaps")
    for i in range(RING + 2):
        create_cm(http, ns, f"fill-{i}")
    with open_socket(server) as ws:
        subscribe(ws, "old", "/api/v1/configmaps", resourceVersion=old)
        error = receive(ws)
        assert (error["id"], error["type"]) == ("old", "ERROR")
        assert error["object"]["code"] == 410
        assert error["object"]["reason"] == "Expired"


def test_unsubscribe_stops_the_watch(server: CorralServer, http: httpx.Client, ns: str) -> None:
    before = long_running_watches(http)
    with open_socket(server) as ws:
        rv = list_rv(http, f"/api/v1/namespaces/{ns}/configmaps")
        subscribe(ws, "gone", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=rv)
        subscribe(ws, "kept", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=rv)
        create_cm(http, ns, "first")
        assert {receive(ws)["id"], receive(ws)["id"]} == {"gone", "kept"}
        assert long_running_watches(http) >= before + 2
        ws.send(orjson.dumps({"op": "unsubscribe", "id": "gone"}).decode())
        deadline = time.monotonic() + RECV
        while long_running_watches(http) > before + 1:
            assert time.monotonic() < deadline, "the watch of an unsubscribed id kept running"
            time.sleep(0.05)
        create_cm(http, ns, "second")
        message = receive(ws)
        assert (message["id"], message["object"]["metadata"]["name"]) == ("kept", "second")
    deadline = time.monotonic() + RECV
    while long_running_watches(http) > before:
        assert time.monotonic() < deadline, "closing the socket left watches running"
        time.sleep(0.05)


def test_table_subscriptions_get_one_row_tables(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    rv = list_rv(http, f"/api/v1/namespaces/{ns}/configmaps")
    with open_socket(server) as ws:
        subscribe(ws, "t", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=rv, table=True)
        create_cm(http, ns, "tabled")
        message = receive(ws)
        table = message["object"]
        assert table["kind"] == "Table"
        assert [c["name"] for c in table["columnDefinitions"]][:2] == ["Name", "Data"]
        assert table["rows"][0]["cells"][0] == "tabled"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"op": "subscribe", "id": "p", "path": "/api/v1/namespaces/default/pods/x"}, "path"),
        ({"op": "subscribe", "id": "p", "path": "/v3/users"}, "path"),
        ({"op": "subscribe", "id": "p", "path": "/api/v1/namespaces/default/pods/x/log"}, "path"),
        ({"op": "subscribe", "id": "p"}, "path"),
        (
            {"op": "subscribe", "id": "p", "path": "/api/v1/pods", "labelSelector": 3},
            "labelSelector",
        ),
        ({"op": "subscribe", "id": "p" * 65, "path": "/api/v1/pods"}, "id"),
        ({"op": "watch", "id": "p", "path": "/api/v1/pods"}, "op"),
    ],
)
def test_bad_subscriptions_are_400_naming_the_field(
    server: CorralServer, message: dict[str, Any], field: str
) -> None:
    with open_socket(server) as ws:
        ws.send(orjson.dumps(message).decode())
        error = receive(ws)
        assert error["type"] == "ERROR"
        assert error["id"] == message["id"]
        assert error["object"]["code"] == 400
        assert error["object"]["message"].startswith(field + ":")


def test_at_most_100_subscriptions_per_socket(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    with open_socket(server) as ws:
        for i in range(100):
            subscribe(ws, f"s{i}", f"/api/v1/namespaces/{ns}/configmaps")
        subscribe(ws, "one-too-many", f"/api/v1/namespaces/{ns}/configmaps")
        error = receive(ws)
        assert (error["id"], error["type"], error["object"]["code"]) == (
            "one-too-many",
            "ERROR",
            429,
        )
        ws.send(orjson.dumps({"op": "unsubscribe", "id": "s0"}).decode())
        subscribe(ws, "fits-again", f"/api/v1/namespaces/{ns}/configmaps")
        create_cm(http, ns, "seen")
        ids = set()
        while "fits-again" not in ids:
            ids.add(receive(ws)["id"])
        assert "s0" not in ids


def test_the_endpoint_needs_credentials_and_a_websocket(server: CorralServer) -> None:
    with pytest.raises(InvalidStatus) as anonymous:
        open_socket(server, None)
    assert anonymous.value.response.status_code == 401
    with server.client(server.token) as http:
        plain = http.get("/v3/subscribe")
    assert plain.status_code == 400
    assert "WebSocket" in plain.json()["message"]


def test_cookie_sessions_need_the_servers_origin_and_a_changed_password(
    server: CorralServer, http: httpx.Client, ns: str
) -> None:
    password = (server.data_dir / "bootstrap-password").read_text().strip()
    with server.client() as anonymous:
        login = anonymous.post(
            "/v3-public/localProviders/local?action=login",
            json={"username": "admin", "password": password, "responseType": "cookie"},
        )
        assert login.status_code == 200, login.text
        cookie = "; ".join(f"{k}={v}" for k, v in anonymous.cookies.items())
    with pytest.raises(InvalidStatus) as foreign:
        open_socket(server, None, {"Cookie": cookie, "Origin": "https://evil.example"})
    assert foreign.value.response.status_code == 403

    own = {"Cookie": cookie, "Origin": server.https_url}
    with pytest.raises(InvalidStatus) as unchanged:
        open_socket(server, None, own)
    assert unchanged.value.response.status_code == 403
    assert b"must change your password" in (unchanged.value.response.body or b"")

    csrf = next(v for k, v in httpx.Cookies(login.cookies).items() if k == "CORRAL_CSRF")
    with server.client() as browser:
        changed = browser.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": password, "newPassword": "subscribe-test-password-1"},
            headers={"Cookie": cookie, "X-API-CSRF": csrf},
        )
        assert changed.status_code == 200, changed.text
    with open_socket(server, None, own) as ws:
        rv = list_rv(http, f"/api/v1/namespaces/{ns}/configmaps")
        subscribe(ws, "s", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=rv)
        create_cm(http, ns, "by-cookie")
        message = receive(ws)
        assert (message["type"], message["object"]["metadata"]["name"]) == ("ADDED", "by-cookie")

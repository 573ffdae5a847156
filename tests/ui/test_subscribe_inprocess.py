"""The subscription session's bounds, in-process: a client that does not read is
dropped once its frames overflow; which paths may be watched; impersonation
carried over to the watches."""

from __future__ import annotations

import orjson
import pytest

from corral.apiserver import LoopbackTransport
from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo
from corral.ui.subscriptions import Limits, Session, collection_path, impersonation_headers
from inprocess import ADMIN_TOKEN, inprocess_api
from polling import eventually


async def test_a_client_that_does_not_read_is_dropped_not_buffered() -> None:
    async with inprocess_api() as api:
        transport = LoopbackTransport(api.app, None)
        session = Session(
            transport, [("authorization", f"Bearer {ADMIN_TOKEN}")], Limits(pending_frames=5)
        )
        message = {"op": "subscribe", "id": "s", "path": "/api/v1/namespaces/default/configmaps"}
        await session.receive({"type": "websocket.receive", "text": orjson.dumps(message).decode()})
        # Nobody iterates session.frames(): the client reads nothing.
        for i in range(8):
            body = {"metadata": {"name": f"cm-{i}"}}
            created = await api.http.post("/api/v1/namespaces/default/configmaps", json=body)
            assert created.status_code == 201
        await eventually(session.abandoned.is_set, "the session gave up on its client", 10)
        assert [frame async for frame in session.frames()] == []  # nothing more is sent
        await transport.close()


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/pods", True),
        ("/api/v1/namespaces", True),
        ("/api/v1/namespaces/default/pods", True),
        ("/apis/apps/v1/namespaces/default/deployments", True),
        ("/apis/management.corral.io/v1/clusters", True),
        ("/k8s/clusters/c-m-1/api/v1/namespaces/kube-system/pods", True),
        ("/k8s/clusters/local/apis/apps/v1/deployments", True),
        ("/api/v1/namespaces/default", False),
        ("/api/v1/namespaces/default/pods/web", False),
        ("/api/v1/namespaces/default/pods/web/log", False),
        ("/apis", False),
        ("/api/v1", False),
        ("/v3/users", False),
        ("/k8s/clusters/c-1/v3/users", False),
        ("/k8s/clusters/../api/v1/pods", False),
        ("/version", False),
    ],
)
def test_only_collections_of_the_kubernetes_api(path: str, allowed: bool) -> None:
    assert collection_path(path) is allowed


def test_impersonation_is_rebuilt_minimally() -> None:
    sa_user = UserInfo(
        "system:serviceaccount:team:bot",
        groups=("system:serviceaccounts", "system:serviceaccounts:team", AUTHENTICATED_GROUP),
    )
    assert impersonation_headers(sa_user) == [("impersonate-user", sa_user.name)]
    person = UserInfo(
        "alice", uid="u-1", groups=("dev", AUTHENTICATED_GROUP), extra={"scopes.x/y": ("a", "b")}
    )
    assert impersonation_headers(person) == [
        ("impersonate-user", "alice"),
        ("impersonate-group", "dev"),
        ("impersonate-uid", "u-1"),
        ("impersonate-extra-scopes.x%2Fy", "a"),
        ("impersonate-extra-scopes.x%2Fy", "b"),
    ]

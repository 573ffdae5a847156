"""Failed answers become the matching StatusError; requests carry the right wire form."""

from __future__ import annotations

from typing import Any

import pytest

from corral.client import (
    Client,
    DecodeError,
    PatchType,
    Preconditions,
    ResourceRef,
    SimpleResponse,
)
from corral.machinery.status import (
    AlreadyExists,
    Conflict,
    Expired,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServiceUnavailable,
    StatusError,
)

from .fakes import FakeSleep, FakeTransport, answer, policy, status

CMS = ResourceRef("", "v1", "configmaps")
NODES = ResourceRef("", "v1", "nodes", namespaced=False)
DEPLOYS = ResourceRef("apps", "v1", "deployments")


def client(*steps: Any) -> tuple[Client, FakeTransport]:
    t = FakeTransport(*steps)
    return Client(t, namespace="home", retry=policy(FakeSleep(), 1)), t


@pytest.mark.parametrize(
    ("code", "reason", "cls"),
    [
        (404, "NotFound", NotFound),
        (409, "Conflict", Conflict),
        (409, "AlreadyExists", AlreadyExists),
        (410, "Expired", Expired),
        (403, "Forbidden", Forbidden),
        (422, "Invalid", Invalid),
    ],
)
async def test_status_body_maps_to_its_class(
    code: int, reason: str, cls: type[StatusError]
) -> None:
    c, _ = client(answer(code, status(code, reason, "said the server")))
    with pytest.raises(cls) as info:
        await c.get(CMS, "a")
    assert info.value.code == code
    assert info.value.reason == reason
    assert str(info.value) == "said the server"


@pytest.mark.parametrize(
    ("code", "cls"), [(404, NotFound), (503, ServiceUnavailable), (410, Gone), (418, StatusError)]
)
async def test_non_status_body_is_synthesized(code: int, cls: type[StatusError]) -> None:
    c, _ = client(SimpleResponse(code, b"<html>upstream says no</html>"))
    with pytest.raises(cls) as info:
        await c.get(CMS, "a")
    assert info.value.code == code
    assert "upstream says no" in str(info.value)


async def test_undecodable_success_is_a_decode_error() -> None:
    c, _ = client(SimpleResponse(200, b"not json"))
    with pytest.raises(DecodeError):
        await c.get(CMS, "a")


async def test_paths_and_namespaces() -> None:
    ok = answer(200, {})
    c, t = client(*[ok] * 6)
    await c.get(CMS, "a")
    await c.get(CMS, "a", namespace="x")
    await c.create(CMS, {"metadata": {"name": "a", "namespace": "own"}})
    await c.list(CMS, namespace="")
    await c.get(NODES, "n1", namespace="ignored")
    await c.get(DEPLOYS, "web", subresource="scale")
    assert [s.path for s in t.sent] == [
        "/api/v1/namespaces/home/configmaps/a",
        "/api/v1/namespaces/x/configmaps/a",
        "/api/v1/namespaces/own/configmaps",
        "/api/v1/configmaps",
        "/api/v1/nodes/n1",
        "/apis/apps/v1/namespaces/home/deployments/web/scale",
    ]


async def test_query_options_and_content_types() -> None:
    ok = answer(200, {})
    c, t = client(*[ok] * 5)
    await c.list(
        CMS,
        label_selector="a=b",
        field_selector="metadata.name=x",
        limit=10,
        continue_="tok",
        resource_version="5",
        resource_version_match="NotOlderThan",
    )
    await c.create(CMS, {"metadata": {"name": "a"}}, dry_run=True, field_validation="Strict")
    await c.apply(CMS, {"metadata": {"name": "a"}}, field_manager="me", force=True)
    await c.patch(
        CMS, "a", [{"op": "add", "path": "/data", "value": {}}], patch_type=PatchType.JSON
    )
    await c.delete_collection(
        CMS, label_selector="a=b", propagation_policy="Foreground", grace_period_seconds=0
    )
    assert t.sent[0].query == {
        "labelSelector": "a=b",
        "fieldSelector": "metadata.name=x",
        "limit": "10",
        "continue": "tok",
        "resourceVersion": "5",
        "resourceVersionMatch": "NotOlderThan",
    }
    assert t.sent[1].query == {"dryRun": "All", "fieldValidation": "Strict"}
    assert t.sent[2].method == "PATCH"
    assert t.sent[2].query == {"fieldManager": "me", "force": "true"}
    assert t.sent[2].headers["Content-Type"] == "application/apply-patch+yaml"
    assert t.sent[3].headers["Content-Type"] == "application/json-patch+json"
    assert t.sent[4].query == {"labelSelector": "a=b"}
    assert t.sent[4].body == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "gracePeriodSeconds": 0,
    }


async def test_delete_options_body() -> None:
    c, t = client(answer(200, {}), answer(200, {}))
    await c.delete(CMS, "a")
    await c.delete(CMS, "a", preconditions=Preconditions(uid="u1"), dry_run=True)
    assert t.sent[0].body is None
    assert t.sent[1].body["preconditions"] == {"uid": "u1"}
    assert t.sent[1].body["dryRun"] == ["All"]


async def test_list_items_follows_continue_tokens() -> None:
    pages = [
        answer(200, {"metadata": {"continue": "p2"}, "items": [{"n": 1}, {"n": 2}]}),
        answer(200, {"metadata": {"continue": "p3"}, "items": [{"n": 3}]}),
        answer(200, {"metadata": {}, "items": [{"n": 4}]}),
    ]
    c, t = client(*pages)
    items = [i async for i in c.list_items(CMS, page_size=2, resource_version="0")]
    assert items == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    assert [s.query.get("continue") for s in t.sent] == [None, "p2", "p3"]
    assert t.sent[0].query["resourceVersion"] == "0"
    assert "resourceVersion" not in t.sent[1].query

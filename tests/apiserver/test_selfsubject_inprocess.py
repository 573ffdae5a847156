"""The self-subject reviews in process: whoami, can-i, and their errors.

Nothing is stored; each answer is the request with its status, decided by
the allow-all authorizer (`corral.apiserver.authorizer`) or by whatever
authorizer is registered in its place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from corral.apiserver.authorizer import ALLOW_ALL_REASON
from corral.apiserver.handlers.selfsubject import user_info
from corral.machinery.authn import UserInfo
from inprocess import InProcessAPI, inprocess_api
from machinery.protobuf.encoder import envelope, msg, text

SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"


@pytest.fixture
async def api() -> AsyncIterator[InProcessAPI]:
    async with inprocess_api() as api:
        yield api


async def test_whoami_answers_the_caller(api: InProcessAPI) -> None:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    resp = await api.http.post(SSR, json=body)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert out["kind"] == "SelfSubjectReview"
    info = out["status"]["userInfo"]
    assert info["username"]
    assert "system:authenticated" in info["groups"]


async def test_access_review_allows_and_says_why(api: InProcessAPI) -> None:
    spec = {"resourceAttributes": {"verb": "create", "group": "apps", "resource": "deployments"}}
    resp = await api.http.post(SSAR, json={"spec": spec})
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert out["status"] == {"allowed": True, "reason": ALLOW_ALL_REASON}
    assert out["spec"] == spec
    path = {"nonResourceAttributes": {"verb": "get", "path": "/healthz"}}
    resp = await api.http.post(SSAR, json={"spec": path})
    assert resp.json()["status"]["allowed"] is True


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({}, "spec.resourceAttributes"),
        (
            {"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/"}},
            "spec.nonResourceAttributes",
        ),
    ],
)
async def test_access_review_needs_exactly_one_kind(
    api: InProcessAPI, spec: dict[str, object], field: str
) -> None:
    resp = await api.http.post(SSAR, json={"spec": spec})
    assert resp.status_code == 422, resp.text
    status = resp.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == field
    assert field in status["message"]


async def test_rules_review_lists_everything(api: InProcessAPI) -> None:
    resp = await api.http.post(SSRR, json={"spec": {"namespace": "default"}})
    assert resp.status_code == 201, resp.text
    status = resp.json()["status"]
    assert status["resourceRules"] == [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
    assert status["nonResourceRules"] == [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
    assert status["incomplete"] is False


async def test_protobuf_body(api: InProcessAPI) -> None:
    # SelfSubjectAccessReview.spec(2).resourceAttributes(1): verb(2), resource(5).
    review = msg(2, msg(1, text(2, "list"), text(5, "pods")))
    raw = envelope(review, "authorization.k8s.io/v1", "SelfSubjectAccessReview")
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    resp = await api.http.post(SSAR, content=raw, headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["spec"]["resourceAttributes"]["resource"] == "pods"


@pytest.mark.parametrize("path", [SSR, SSAR, SSRR])
async def test_read_verbs_are_not_allowed(api: InProcessAPI, path: str) -> None:
    resp = await api.http.get(path)
    assert resp.status_code == 405
    assert resp.json()["reason"] == "MethodNotAllowed"
    resp = await api.http.get(path + "/x")
    assert resp.status_code == 405


def test_user_info_leaves_out_empty_fields() -> None:
    assert user_info(UserInfo("u")) == {"username": "u"}
    full = UserInfo("u", "id", ("g",), {"k": ("v",)})
    assert user_info(full) == {"username": "u", "uid": "id", "groups": ["g"], "extra": {"k": ["v"]}}

"""The service account authenticator: the user it makes, and when a valid JWT is not enough.

The objects come from a plain dictionary standing in for the server's
watch caches (`ObjectReader` is a one-method protocol); the live tests
(tests/apiserver/test_serviceaccount_tokens_live.py) run it against the
real caches.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

import pytest

from corral.auth import ServiceAccountAuthenticator, ServiceAccountTokens
from corral.auth.satokens import LEEWAY
from corral.machinery.authn import AUTHENTICATED_GROUP
from corral.machinery.satoken import BoundRef, TokenSpec
from corral.pki import certs


class Objects:
    """An `ObjectReader` over a dict; counts lookups."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.lookups = 0

    def put(self, resource: str, namespace: str, name: str, uid: str, **meta: Any) -> None:
        self.items[(resource, namespace, name)] = {
            "metadata": {"name": name, "namespace": namespace, "uid": uid, **meta}
        }

    async def current(self, resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        self.lookups += 1
        return self.items.get((resource, namespace, name))


@pytest.fixture
def tokens() -> ServiceAccountTokens:
    return ServiceAccountTokens(certs.new_key())


@pytest.fixture
def objects() -> Objects:
    store = Objects()
    store.put("serviceaccounts", "ci", "builder", "sa-1")
    store.put("pods", "ci", "runner", "pod-1")
    store.put("secrets", "ci", "builder-token", "secret-1")
    return store


@pytest.fixture
def authn(tokens: ServiceAccountTokens, objects: Objects) -> ServiceAccountAuthenticator:
    return ServiceAccountAuthenticator(tokens, objects)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_user_of_a_token(
    tokens: ServiceAccountTokens, authn: ServiceAccountAuthenticator
) -> None:
    token = tokens.issue(TokenSpec("ci", "builder", "sa-1")).token
    user = await authn.authenticate(bearer(token))
    assert user is not None
    assert user.name == "system:serviceaccount:ci:builder"
    assert user.uid == "sa-1"
    assert user.groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:ci",
        AUTHENTICATED_GROUP,
    )
    (credential,) = user.extra["authentication.kubernetes.io/credential-id"]
    assert credential.startswith("JTI=")
    assert len(credential) == 4 + 36
    assert "authentication.kubernetes.io/pod-name" not in user.extra


async def test_pod_bound_token_names_the_pod(
    tokens: ServiceAccountTokens, authn: ServiceAccountAuthenticator, objects: Objects
) -> None:
    spec = TokenSpec("ci", "builder", "sa-1", pod=BoundRef("runner", "pod-1"))
    token = tokens.issue(spec).token
    user = await authn.authenticate(bearer(token))
    assert user is not None
    assert user.extra["authentication.kubernetes.io/pod-name"] == ("runner",)
    assert user.extra["authentication.kubernetes.io/pod-uid"] == ("pod-1",)
    del objects.items[("pods", "ci", "runner")]
    assert await authn.authenticate(bearer(token)) is None


async def test_account_must_still_exist_with_its_uid(
    tokens: ServiceAccountTokens, authn: ServiceAccountAuthenticator, objects: Objects
) -> None:
    token = tokens.issue(TokenSpec("ci", "builder", "sa-1")).token
    assert await authn.authenticate(bearer(token)) is not None
    objects.put("serviceaccounts", "ci", "builder", "sa-2")  # deleted and recreated
    assert await authn.authenticate(bearer(token)) is None
    del objects.items[("serviceaccounts", "ci", "builder")]
    assert await authn.authenticate(bearer(token)) is None


async def test_secret_bound_token_lives_with_its_secret(
    tokens: ServiceAccountTokens, authn: ServiceAccountAuthenticator, objects: Objects
) -> None:
    spec = TokenSpec(
        "ci",
        "builder",
        "sa-1",
        expiration_seconds=None,
        secret=BoundRef("builder-token", "secret-1"),
    )
    token = tokens.issue(spec).token
    assert await authn.authenticate(bearer(token)) is not None
    objects.put("secrets", "ci", "builder-token", "secret-2")
    assert await authn.authenticate(bearer(token)) is None


async def test_objects_being_deleted_count_as_gone_after_the_leeway(
    tokens: ServiceAccountTokens, authn: ServiceAccountAuthenticator, objects: Objects
) -> None:
    token = tokens.issue(TokenSpec("ci", "builder", "sa-1", pod=BoundRef("runner", "pod-1"))).token

    def stamp(seconds_ago: float) -> str:
        when = dt.datetime.fromtimestamp(time.time() - seconds_ago, dt.UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    objects.put("pods", "ci", "runner", "pod-1", deletionTimestamp=stamp(-30))  # graceful
    assert await authn.authenticate(bearer(token)) is not None
    objects.put("pods", "ci", "runner", "pod-1", deletionTimestamp=stamp(LEEWAY + 10))
    assert await authn.authenticate(bearer(token)) is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer opaque-token"},
        {"authorization": "Bearer a.b.c"},
    ],
)
async def test_other_credentials_are_not_looked_up(
    authn: ServiceAccountAuthenticator, objects: Objects, headers: dict[str, str]
) -> None:
    assert await authn.authenticate(headers) is None
    assert objects.lookups == 0


async def test_invalid_tokens_are_not_looked_up(
    tokens: ServiceAccountTokens, authn: ServiceAccountAuthenticator, objects: Objects
) -> None:
    token = tokens.issue(TokenSpec("ci", "builder", "sa-1", audiences=("vault",))).token
    assert await authn.authenticate(bearer(token)) is None
    assert await authn.authenticate(bearer(token[:-2] + "xx")) is None
    assert objects.lookups == 0


async def test_rejections_never_log_the_token(
    tokens: ServiceAccountTokens,
    authn: ServiceAccountAuthenticator,
    objects: Objects,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="corral.auth")
    token = tokens.issue(TokenSpec("ci", "builder", "sa-1")).token
    del objects.items[("serviceaccounts", "ci", "builder")]
    assert await authn.authenticate(bearer(token)) is None
    assert await authn.authenticate(bearer(token[:-2] + "xx")) is None
    assert caplog.records, "rejections are logged at debug level"
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert token[:40] not in text
        assert token[-20:] not in text

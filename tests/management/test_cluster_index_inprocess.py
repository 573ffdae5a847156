"""In-process: the registration-token index and who may use a cluster.

The API runs in-process (memory backend) with the cluster kinds and their
admission installed; the index is fed by its real informer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from corral.apiserver.authorizer import AllowAll
from corral.client import Client
from corral.machinery.admission import AdmissionChain
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Decision
from corral.machinery.status import Invalid
from corral.management import (
    CLUSTER_REGISTRATION_TOKENS,
    CLUSTERS,
    RegistrationTokens,
    may_use_cluster,
)
from corral.management.clusteradmission import ClusterAdmission
from corral.management.clusterkinds import ensure_cluster_kinds
from corral.management.kinds import NAMESPACES
from corral.management.registrationtokens import TOKEN_LENGTH, new_registration_token
from inprocess import InProcessAPI, inprocess_api
from polling import eventually

GROUP_VERSION = "management.corral.io/v1"


class DenyAll:
    """An authorizer that allows nothing (a user without any RBAC grant)."""

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        return Decision(False, "")


class UpdateClustersOnly:
    """Allows exactly ``update`` on clusters.management.corral.io (a global cluster admin)."""

    def __init__(self) -> None:
        self.asked: list[Attributes] = []

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        self.asked.append(attributes)
        allowed = (attributes.verb, attributes.group, attributes.resource) == (
            "update",
            "management.corral.io",
            "clusters",
        )
        return Decision(allowed, "")


@pytest.fixture
async def api() -> AsyncIterator[InProcessAPI]:
    async with inprocess_api() as api:
        parts = api.kube.api.parts
        admission = ClusterAdmission(parts)
        parts.admission = (
            admission if parts.admission is None else AdmissionChain(parts.admission, admission)
        )
        client = api.client_for("system:corral-management")
        await ensure_cluster_kinds(client)
        await client.close()
        yield api


async def _cluster(client: Client, display_name: str) -> dict[str, Any]:
    body = {
        "apiVersion": GROUP_VERSION,
        "kind": "Cluster",
        "metadata": {"generateName": "c-"},
        "spec": {"displayName": display_name},
    }
    return await client.create(CLUSTERS, body)


async def _token(client: Client, namespace: str, cluster: str, token: str) -> dict[str, Any]:
    await client.create(
        NAMESPACES,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    made = await client.create(
        CLUSTER_REGISTRATION_TOKENS,
        {
            "apiVersion": GROUP_VERSION,
            "kind": "ClusterRegistrationToken",
            "metadata": {"name": "default-token", "namespace": namespace},
            "spec": {"clusterName": cluster},
        },
    )
    made["status"] = {"token": token}
    return await client.update(CLUSTER_REGISTRATION_TOKENS, made, subresource="status")


def test_tokens_are_54_lowercase_alphanumerics() -> None:
    tokens = {new_registration_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == TOKEN_LENGTH
        assert token.isalnum()
        assert token == token.lower()


async def test_the_index_finds_follows_and_forgets_tokens(api: InProcessAPI) -> None:
    client = api.client_for("system:corral-management")
    index = RegistrationTokens(client)
    index.start()
    try:
        first = new_registration_token()
        stored = await _token(client, "c-aaaaa", "c-aaaaa", first)
        await eventually(lambda: index.cluster_for_token(first), "the token indexed")
        assert await index.cluster_for_token(first) == "c-aaaaa"
        assert await index.cluster_for_token(first[:-1]) is None
        assert await index.cluster_for_token(first.upper()) is None
        assert await index.cluster_for_token("") is None
        # a token whose namespace is not its cluster's registers nothing
        other = new_registration_token()
        await _token(client, "c-bbbbb", "c-aaaaa", other)
        assert await index.cluster_for_token(other) is None
        # rotated: the old one stops at once the change is seen
        second = new_registration_token()
        stored["status"] = {"token": second}
        stored["metadata"].pop("resourceVersion")
        await client.update(CLUSTER_REGISTRATION_TOKENS, stored, subresource="status")
        await eventually(lambda: index.cluster_for_token(second), "the new token indexed")
        assert await index.cluster_for_token(first) is None
        await client.delete(CLUSTER_REGISTRATION_TOKENS, "default-token", namespace="c-aaaaa")

        async def forgotten() -> bool:
            return await index.cluster_for_token(second) is None

        await eventually(forgotten, "the deleted token forgotten")
    finally:
        await index.stop()
        await client.close()


async def test_may_use_cluster_admins_and_the_creator(api: InProcessAPI) -> None:
    alice = api.client_for("alice")
    cluster = await _cluster(alice, "alices")
    await alice.close()
    assert cluster["metadata"]["annotations"]["corral.io/creator-id"] == "alice"
    nobody = DenyAll()
    assert may_use_cluster(nobody, UserInfo("alice"), cluster)
    assert not may_use_cluster(nobody, UserInfo("bob"), cluster)
    assert not may_use_cluster(nobody, UserInfo("Alice"), cluster)
    admins = UpdateClustersOnly()
    assert may_use_cluster(admins, UserInfo("bob"), cluster)
    asked = admins.asked[-1]
    assert (asked.verb, asked.resource, asked.name) == (
        "update",
        "clusters",
        cluster["metadata"]["name"],
    )
    assert may_use_cluster(AllowAll(), UserInfo("bob"), cluster)
    anonymous = {**cluster, "metadata": {**cluster["metadata"], "annotations": {}}}
    assert not may_use_cluster(nobody, UserInfo("alice"), anonymous)
    assert not may_use_cluster(nobody, UserInfo(""), {"metadata": {"name": "c-x"}})


async def test_racing_creates_of_one_display_name_let_one_through(api: InProcessAPI) -> None:
    clients = [api.client_for(f"user-{i}") for i in range(8)]
    try:
        results = await asyncio.gather(
            *(_cluster(client, "contested") for client in clients), return_exceptions=True
        )
    finally:
        for client in clients:
            await client.close()
    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(made) == 1
    assert len(refused) == 7
    assert all("spec.displayName: Duplicate value" in str(r) for r in refused)

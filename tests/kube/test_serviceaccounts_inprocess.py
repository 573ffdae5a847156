"""The service account controller and root CA publisher, against an in-process API server.

Every namespace (the system ones and new ones) gets a ``default``
ServiceAccount and the ConfigMap ``kube-root-ca.crt`` holding the cluster CA;
both come back when deleted, and the ConfigMap is put right when edited.
No fixed sleeps: every wait polls with a deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest

from controllerthread import new_context, running
from corral.client import Client
from corral.kube import serviceaccounts
from corral.kube.context import KubeOptions
from corral.kube.resources import CONFIG_MAPS, NAMESPACES, SERVICE_ACCOUNTS
from corral.kube.rootcacert import CONFIG_MAP_NAME, DESCRIPTION, DESCRIPTION_ANNOTATION
from corral.machinery.status import NotFound
from inprocess import inprocess_api
from polling import eventually

Obj = dict[str, Any]
DEADLINE = 15.0
CA = "-----BEGIN CERTIFICATE-----\nMIIB-not-really\n-----END CERTIFICATE-----\n"


wait_for = partial(eventually, deadline=DEADLINE, interval=0.02)


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with (
        inprocess_api() as server,
        server.client_for("system:kube-controller-manager") as api,
    ):
        ctx = new_context(api, options=KubeOptions(workers=2, ca_pem=CA.encode()))
        async with running(ctx, serviceaccounts.build(ctx)):
            yield api


async def get_or_none(client: Client, ref: Any, name: str, namespace: str) -> Obj | None:
    try:
        return await client.get(ref, name, namespace=namespace)
    except NotFound:
        return None


async def test_every_namespace_gets_default_account_and_root_ca(client: Client) -> None:
    name = "sa-" + uuid.uuid4().hex[:6]
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    for ns in ("default", "kube-system", "kube-public", name):
        await wait_for(
            lambda ns=ns: get_or_none(client, SERVICE_ACCOUNTS, "default", ns),  # type: ignore[misc]
            f"default service account in {ns}",
        )
        cm = await wait_for(
            lambda ns=ns: get_or_none(client, CONFIG_MAPS, CONFIG_MAP_NAME, ns),  # type: ignore[misc]
            f"{CONFIG_MAP_NAME} in {ns}",
        )
        assert cm["data"] == {"ca.crt": CA}
        assert cm["metadata"]["annotations"][DESCRIPTION_ANNOTATION] == DESCRIPTION


async def test_deleted_or_edited_objects_come_back(client: Client) -> None:
    name = "sa-" + uuid.uuid4().hex[:6]
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    account = await wait_for(
        lambda: get_or_none(client, SERVICE_ACCOUNTS, "default", name), "default account"
    )
    cm = await wait_for(lambda: get_or_none(client, CONFIG_MAPS, CONFIG_MAP_NAME, name), "root CA")

    await client.delete(SERVICE_ACCOUNTS, "default", namespace=name)

    async def recreated_account() -> bool:
        got = await get_or_none(client, SERVICE_ACCOUNTS, "default", name)
        return got is not None and got["metadata"]["uid"] != account["metadata"]["uid"]

    await wait_for(recreated_account, "default account re-created")

    edited = {**cm, "data": {"ca.crt": "tampered", "extra": "x"}}
    await client.update(CONFIG_MAPS, edited, namespace=name)

    async def restored() -> bool:
        got = await get_or_none(client, CONFIG_MAPS, CONFIG_MAP_NAME, name)
        return got is not None and got["data"] == {"ca.crt": CA}

    await wait_for(restored, "root CA restored after an edit")

    await client.delete(CONFIG_MAPS, CONFIG_MAP_NAME, namespace=name)

    async def recreated_cm() -> bool:
        got = await get_or_none(client, CONFIG_MAPS, CONFIG_MAP_NAME, name)
        return got is not None and got["metadata"]["uid"] != cm["metadata"]["uid"]

    await wait_for(recreated_cm, "root CA re-created after a delete")

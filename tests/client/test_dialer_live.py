"""`HTTPTransport` with a dialer: every verb and a watch against a real ``corral server``.

The dialer here dials plain TCP (a real test double of the tunnel's, which
the ``agent`` tests cover) and counts what it opened, so the test also shows
that connections are pooled (several requests, one dial) and that TLS is
negotiated over the dialed stream against the cluster's CA and server name.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import anyio
import anyio.abc
import pytest

from corral.client import Client, ClusterConfig, ResourceRef, TLSError, load_kubeconfig
from corral.client.dialing import ClusterUnavailable
from corral.client.httptransport import HTTPTransport
from corral.machinery.status import NotFound
from serverproc import CorralServer, module_server

CMS = ResourceRef("", "v1", "configmaps", kind="ConfigMap")
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, kind="Namespace")

server = module_server("dialer")


class TCPDialer:
    """Dials plain TCP and remembers each address it was asked for."""

    def __init__(self) -> None:
        self.dialed: list[tuple[str, int]] = []

    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        self.dialed.append((host, port))
        return await anyio.connect_tcp(host, port)


class RefusingDialer:
    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        raise ClusterUnavailable("cluster c-test: agent not connected")


def config_of(server: CorralServer) -> ClusterConfig:
    return load_kubeconfig(server.kubeconfig_path)


async def test_every_verb_and_a_watch_through_the_dialer(server: CorralServer) -> None:
    dialer = TCPDialer()
    config = config_of(server)
    async with Client(HTTPTransport(config, dialer=dialer)) as client:
        ns = "d-" + uuid.uuid4().hex[:8]
        await client.create(NAMESPACES, {"metadata": {"name": ns}})
        created = await client.create(
            CMS, {"metadata": {"name": "a"}, "data": {"k": "v"}}, namespace=ns
        )
        got = await client.get(CMS, "a", namespace=ns)
        assert got["metadata"]["uid"] == created["metadata"]["uid"]
        got["data"]["k"] = "v2"
        assert (await client.update(CMS, got))["data"] == {"k": "v2"}
        patched = await client.patch(CMS, "a", {"data": {"m": "1"}}, namespace=ns)
        assert patched["data"] == {"k": "v2", "m": "1"}
        listed = await client.list(CMS, namespace=ns)
        assert [i["metadata"]["name"] for i in listed["items"]] == ["a"]

        rv = listed["metadata"]["resourceVersion"]
        async with client.watch(CMS, namespace=ns, resource_version=rv) as events:
            await client.create(CMS, {"metadata": {"name": "b"}}, namespace=ns)
            async with asyncio.timeout(10):
                async for type_, obj in events:
                    assert (type_, obj["metadata"]["name"]) == ("ADDED", "b")
                    break

        await client.delete(CMS, "a", namespace=ns)
        with pytest.raises(NotFound):
            await client.get(CMS, "a", namespace=ns)
    host = config.server.split("//")[1].rsplit(":", 1)
    assert set(dialer.dialed) == {(host[0].strip("[]"), int(host[1]))}
    # Keep-alive: the ordinary requests shared a connection; the watch had its own.
    assert 1 <= len(dialer.dialed) <= 3


async def test_tls_is_verified_over_the_dialed_stream(server: CorralServer) -> None:
    config = config_of(server)
    wrong_name = replace(config, tls_server_name="not-this-server.example")
    async with Client(HTTPTransport(wrong_name, dialer=TCPDialer())) as client:
        with pytest.raises(TLSError):
            await client.get(NAMESPACES, "default")


async def test_a_refusing_dialer_is_cluster_unavailable(server: CorralServer) -> None:
    async with Client(HTTPTransport(config_of(server), dialer=RefusingDialer())) as client:
        with pytest.raises(ClusterUnavailable, match="agent not connected"):
            await client.get(NAMESPACES, "default")

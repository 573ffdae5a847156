"""The proxy over a dialer, in-process: what a user sees when the way to a cluster fails.

The dialers are test doubles of the agent's tunnel: one refuses to dial
(the agent went away after the access was looked up), one hands out a
stream that breaks with an error class of its own (a reset tunnel stream).
"""

from __future__ import annotations

import anyio
import anyio.abc
import pytest

from corral.apiserver.asgi import Request
from corral.client import ClusterConfig
from corral.client.dialing import ClusterAccess, ClusterUnavailable, Dialer
from corral.machinery.authn import UserInfo
from corral.machinery.status import ServiceUnavailable
from corral.proxy import ClusterProxy

ALICE = UserInfo("alice", groups=("system:authenticated",))


class AgentGone:
    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        raise ClusterUnavailable("cluster c-t: agent not connected")


class StreamReset(Exception):
    """A tunnel's own error class."""


class BrokenStream(anyio.abc.ByteStream):
    async def receive(self, max_bytes: int = 65536) -> bytes:
        raise StreamReset("stream 7 reset by peer")

    async def send(self, item: bytes) -> None:
        raise StreamReset("stream 7 reset by peer")

    async def send_eof(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class ResettingTunnel:
    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        return BrokenStream()


def proxy_over(dialer: Dialer) -> ClusterProxy:
    access = ClusterAccess("c-t", ClusterConfig(server="http://10.0.0.1:6443"), dialer)

    async def source(cluster: str) -> ClusterAccess:
        return access

    async def may_use(user: UserInfo, cluster: str) -> bool:
        return True

    return ClusterProxy(source, may_use)


def get(path: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"accept", b"application/json")],
    }
    request = Request(scope)
    request.user = ALICE
    return request


async def test_an_agent_gone_after_the_lookup_is_not_connected() -> None:
    proxy = proxy_over(AgentGone())
    with pytest.raises(ServiceUnavailable) as info:
        await proxy.handle(get("/k8s/clusters/c-t/api"))
    assert info.value.message == "cluster c-t is not connected"
    await proxy.close()


async def test_a_broken_tunnel_stream_is_unreachable_not_a_500() -> None:
    proxy = proxy_over(ResettingTunnel())
    with pytest.raises(ServiceUnavailable) as info:
        await proxy.handle(get("/k8s/clusters/c-t/api"))
    assert info.value.message.startswith("error trying to reach cluster c-t: ")
    assert "reset" not in info.value.message  # the cause stays in the log
    await proxy.close()

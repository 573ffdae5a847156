"""The WebSocket relay in-process: ASGI messages one side, a real WebSocket server the other.

The cluster is a `websockets` echo server (a stand-in for exec); the ASGI
side is driven with queues, as uvicorn would. After the client goes, the
upgraded connection is closed and the cluster's pool holds nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from corral.apiserver.asgi import Request, WebSocketRelay
from corral.client import ClusterConfig
from corral.client.dialing import ClusterAccess
from corral.machinery.authn import UserInfo
from corral.proxy import ClusterProxy
from proxy.recorder import websocket_echo_cluster

ALICE = UserInfo("alice", groups=("system:authenticated",))


async def test_relay_both_ways_then_nothing_left_in_the_pool() -> None:
    with websocket_echo_cluster() as echo:
        access = ClusterAccess("c-ws", ClusterConfig(server=echo.url))

        async def source(cluster: str) -> ClusterAccess:
            return access

        async def may_use(user: UserInfo, cluster: str) -> bool:
            return True

        proxy = ClusterProxy(source, may_use)
        path = "/k8s/clusters/c-ws/api/v1/namespaces/default/pods/p/exec"
        scope = {
            "type": "websocket",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"command=sh&stdin=true",
            "headers": [(b"host", b"corral")],
            "subprotocols": ["v5.channel.k8s.io"],
        }
        request = Request(scope)
        request.user = ALICE
        relay = await proxy.handle(request)
        assert isinstance(relay, WebSocketRelay)
        assert relay.subprotocol == "v5.channel.k8s.io"
        assert relay.relay is not None

        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def receive() -> dict[str, Any]:
            return await inbox.get()

        async def send(message: Any) -> None:
            await outbox.put(dict(message))

        serve = relay.relay

        async def relaying() -> None:
            await serve(receive, send)

        running = asyncio.create_task(relaying())
        await inbox.put({"type": "websocket.receive", "bytes": b"\x00ls\n"})
        async with asyncio.timeout(10):
            assert await outbox.get() == {"type": "websocket.send", "bytes": b"\x00ls\n"}
            await inbox.put({"type": "websocket.receive", "text": "resize"})
            assert await outbox.get() == {"type": "websocket.send", "text": "resize"}
            await inbox.put({"type": "websocket.disconnect", "code": 1000})
            await running
        pool = await proxy._pools.pool_for(access)
        assert pool.connections == []
        await proxy.close()

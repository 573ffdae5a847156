"""Graceful shutdown of the uvicorn servers as the CLI configures them: an
in-flight request finishes, the port stops accepting, and an idle TLS client
that keeps its connection open does not hold the server up."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
import pytest

from corral.apiserver.asgi import Receive, Response, Scope, Send, send_response
from corral.cli.listen import bind_listener
from corral.cli.uvicorn_servers import make_server
from corral.pki import CertPolicy, TLSPaths, ensure_tls, server_context, serving_sans


async def test_in_flight_request_finishes_then_port_closes() -> None:
    entered = asyncio.Event()

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            entered.set()
            await asyncio.sleep(0.5)
            await send_response(send, Response(200, b"done"))

    sock = bind_listener("127.0.0.1", 0, "HTTP", "--http-port")
    port = sock.getsockname()[1]
    server = make_server(slow_app, None, grace=10)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        request = asyncio.create_task(client.get("/"))
        await asyncio.wait_for(entered.wait(), 5)
        server.should_exit = True
        response = await asyncio.wait_for(request, 5)
        assert response.status_code == 200
        assert response.text == "done"
        await asyncio.wait_for(serving, 5)
        with pytest.raises(httpx.ConnectError):
            await client.get("/")


async def test_an_idle_tls_keep_alive_client_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    paths = TLSPaths.under(tmp_path)
    ensure_tls(paths, serving_sans(()), CertPolicy())

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await send_response(send, Response(200, b"ok"))

    sock = bind_listener("127.0.0.1", 0, "HTTPS", "--https-port")
    port = sock.getsockname()[1]
    server = make_server(app, server_context(paths), grace=30)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    # The client keeps its connection open after the response, as a pool does.
    verify = ssl.create_default_context(cafile=str(paths.ca_cert))
    async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", verify=verify) as client:
        assert (await client.get("/")).status_code == 200
        started = asyncio.get_running_loop().time()
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        assert asyncio.get_running_loop().time() - started < 5

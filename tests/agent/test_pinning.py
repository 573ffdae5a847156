"""The agent trusts the server only through the CA checksum, and pins that CA.

Against a small HTTPS server (`StubServer`) and a man in the middle
(`TLSRelay`, its own CA, relaying the genuine PEM): a wrong checksum stops
the agent after the one unverified CA request; a pinned connection to the
relay, or to an address the certificate does not name, fails the handshake;
in every case the registration token never leaves the agent.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from corral.agent import PinningError, UntrustedServer
from corral.agent.backoff import Backoff
from corral.agent.connection import AgentConnection, websocket_url
from corral.agent.declaration import Declaration
from corral.agent.pinning import check_ca, fetch_pinned_ca, normalize_checksum, pinned_context

from .stubserver import StubServer
from .tlsrelay import TLSRelay

TOKEN = "t" * 54
DECLARED = Declaration("https://127.0.0.1:1", "ca", "sa-token-that-must-not-leak")


def sha(pem: bytes) -> str:
    return hashlib.sha256(pem).hexdigest()


def test_checksum_is_hex_sha256_of_exact_bytes() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    check_ca(pem, sha(pem.encode()))
    check_ca(pem, "sha256:" + sha(pem.encode()).upper())
    with pytest.raises(PinningError, match="does not match --ca-checksum"):
        check_ca(pem.rstrip("\n"), sha(pem.encode()))  # one byte less
    with pytest.raises(PinningError, match="64 characters"):
        normalize_checksum("abc")


async def test_matching_checksum_gives_the_servers_pem(tmp_path: Path) -> None:
    async with StubServer(tmp_path / "server") as server:
        pem = await fetch_pinned_ca(server.url, sha(server.ca_pem))
    assert pem.encode() == server.ca_pem


async def test_wrong_checksum_is_refused_and_no_token_sent(tmp_path: Path) -> None:
    async with StubServer(tmp_path / "server") as server:
        with pytest.raises(PinningError, match="does not match --ca-checksum"):
            await fetch_pinned_ca(server.url, "0" * 64)
    assert server.seen.startswith(b"GET /v3/settings/cacerts ")
    assert TOKEN.encode() not in server.seen


async def connect_once(url: str, pem: str) -> AgentConnection:
    connection = AgentConnection(url, TOKEN, DECLARED, pinned_context(pem), Backoff.scaled(0.01))
    await asyncio.wait_for(connection.run(), 20)
    return connection


async def test_man_in_the_middle_relaying_the_genuine_pem_is_refused(tmp_path: Path) -> None:
    async with (
        StubServer(tmp_path / "server") as server,
        TLSRelay(tmp_path / "mitm", "127.0.0.1", server.port) as relay,
    ):
        pem = await fetch_pinned_ca(relay.url, sha(server.ca_pem))  # the genuine PEM, relayed
        assert pem.encode() == server.ca_pem
        with pytest.raises(UntrustedServer, match="pinned CA does not accept"):
            await connect_once(relay.url, pem)
    assert relay.connections == 1  # the CA request; the pinned handshake failed before any HTTP
    for secret in (TOKEN, DECLARED.token, "X-Corral"):
        assert secret.encode() not in relay.seen
        assert secret.encode() not in server.seen


async def test_a_certificate_for_another_hostname_is_refused(tmp_path: Path) -> None:
    async with StubServer(tmp_path / "server") as server:
        other_address = f"https://127.0.0.2:{server.port}"  # not in the certificate
        pem = await fetch_pinned_ca(other_address, sha(server.ca_pem))
        with pytest.raises(UntrustedServer, match="pinned CA does not accept"):
            await connect_once(other_address, pem)
    assert TOKEN.encode() not in server.seen


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial=1.0, cap=8.0, slow=60.0)
    delays = [backoff.next() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert base / 2 <= delay <= base
    assert 45.0 <= backoff.refused() <= 60.0
    backoff.reset()
    assert backoff.next() <= 1.0


def test_the_agent_speaks_only_wss() -> None:
    assert websocket_url("https://h:8443/", "/v3/connect") == "wss://h:8443/v3/connect"
    with pytest.raises(ValueError, match="https"):
        websocket_url("http://h:8080", "/v3/connect")

"""Renewal while serving: a new TLS handshake sees the new certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509

from corral.pki import (
    CertificateFileError,
    CertPolicy,
    ServingCertRenewer,
    TLSPaths,
    ensure_tls,
    server_context,
    serving_sans,
)
from corral.pki.certs import is_signed_by


async def peer_certificate(port: int, client: ssl.SSLContext) -> x509.Certificate:
    """The certificate a fresh TLS connection to ``port`` is shown (verified)."""
    _reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client, server_hostname="127.0.0.1"
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_renewer_replaces_near_expiry_cert_and_reloads_context(tmp_path: Path) -> None:
    paths = TLSPaths.under(tmp_path)
    sans = serving_sans([], hostname="localhost")
    # A 3-second certificate is due for renewal after 2 seconds.
    policy = CertPolicy(
        serving_lifetime=dt.timedelta(seconds=3), backdate=dt.timedelta(0), check_interval=0.05
    )
    state = await asyncio.to_thread(ensure_tls, paths, sans, policy)
    ctx = server_context(paths)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cafile=str(paths.ca_cert))
    renewer = ServingCertRenewer(paths, sans, policy, ctx, state)
    task = asyncio.create_task(renewer.run())
    try:
        first = await peer_certificate(port, client)
        assert first.serial_number == state.serving_cert.serial_number
        ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        deadline = time.monotonic() + 10
        while True:
            seen = await peer_certificate(port, client)
            if seen.serial_number != first.serial_number:
                break
            assert time.monotonic() < deadline, "the renewed certificate was never served"
            await asyncio.sleep(0.05)
        assert is_signed_by(seen, ca)
        on_disk = x509.load_pem_x509_certificate(paths.serving_cert.read_bytes())
        assert on_disk.serial_number == seen.serial_number
        assert paths.ca_cert.read_bytes() == state.ca_pem
        assert not list(paths.dir.glob(".*.tmp"))
    finally:
        task.cancel()
        server.close()
        await server.wait_closed()


async def test_check_reloads_files_replaced_by_hand(tmp_path: Path) -> None:
    paths = TLSPaths.under(tmp_path)
    sans = serving_sans([], hostname="localhost")
    state = ensure_tls(paths, sans, CertPolicy())
    ctx = server_context(paths)
    renewer = ServingCertRenewer(paths, sans, CertPolicy(), ctx, state)
    assert not await renewer.check()
    paths.serving_cert.unlink()  # an operator removes it: a new one is issued and loaded
    assert await renewer.check()
    assert not await renewer.check()


async def test_renewer_never_creates_a_ca(tmp_path: Path) -> None:
    paths = TLSPaths.under(tmp_path)
    sans = serving_sans([], hostname="localhost")
    state = ensure_tls(paths, sans, CertPolicy())
    renewer = ServingCertRenewer(paths, sans, CertPolicy(), server_context(paths), state)
    paths.ca_cert.unlink()
    paths.ca_key.unlink()
    with pytest.raises(CertificateFileError, match="is missing"):
        await renewer.check()
    assert not paths.ca_cert.exists()
    assert not paths.ca_key.exists()

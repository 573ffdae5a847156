"""The CA, signing key and admin token shared through the datastore.

Two data directories on one (memory) backend play two replicas: they agree
on one CA and signing key even when they start at the same moment, a joining
replica writes its kubeconfig with the shared admin token, and a replica
whose data directory holds another CA is refused, naming the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.auth import SharedMaterialError, ensure_admin_credentials
from corral.auth.kubeconfig import read_admin_token
from corral.auth.sharedmaterial import (
    SHARED_PKI_KEY,
    share_admin_token,
    share_tls_material,
    sync_admin_kubeconfig,
)
from corral.pki import certs
from corral.pki.store import TLSPaths
from corral.storage import Backend, open_backend

SERVER = "https://127.0.0.1:8443"


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    store = open_backend("memory://")
    await store.start()
    yield store
    await store.close()


def tls_files(data_dir: Path) -> dict[str, bytes]:
    tls = data_dir / "tls"
    return {p.name: p.read_bytes() for p in sorted(tls.iterdir())}


async def test_two_replicas_starting_together_agree_on_one_ca(
    backend: Backend, tmp_path: Path
) -> None:
    dirs = [tmp_path / f"r{i}" for i in range(3)]
    for d in dirs:
        d.mkdir()
    outcomes = await asyncio.gather(*(share_tls_material(backend, TLSPaths.under(d)) for d in dirs))
    assert sum(o.offered for o in outcomes) == 1
    assert sum(o.joined for o in outcomes) == 2
    files = [tls_files(d) for d in dirs]
    assert files[0] == files[1] == files[2]
    assert set(files[0]) == {"ca.crt", "ca.key", "service-account.key"}
    assert (dirs[1] / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600
    stored = await backend.get(SHARED_PKI_KEY)
    assert stored is not None


async def test_an_existing_server_offers_its_own_ca(backend: Backend, tmp_path: Path) -> None:
    first = TLSPaths.under(tmp_path / "old")
    first.dir.parent.mkdir()
    first.dir.mkdir(mode=0o700)
    cert, key = certs.make_ca(certs.utcnow())
    first.ca_cert.write_bytes(certs.cert_pem(cert))
    first.ca_key.write_bytes(certs.key_pem(key))
    outcome = await share_tls_material(backend, first)
    assert outcome.offered
    assert not outcome.joined
    joining = TLSPaths.under(tmp_path / "new")
    joining.dir.parent.mkdir()
    assert (await share_tls_material(backend, joining)).joined
    assert joining.ca_cert.read_bytes() == certs.cert_pem(cert)


async def test_another_ca_in_the_data_directory_is_refused(
    backend: Backend, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    await share_tls_material(backend, TLSPaths.under(tmp_path / "a"))
    other = TLSPaths.under(tmp_path / "b")
    other.dir.parent.mkdir()
    other.dir.mkdir(mode=0o700)
    cert, key = certs.make_ca(certs.utcnow())
    other.ca_cert.write_bytes(certs.cert_pem(cert))
    other.ca_key.write_bytes(certs.key_pem(key))
    with pytest.raises(SharedMaterialError) as caught:
        await share_tls_material(backend, other)
    assert str(caught.value).startswith(f"{other.ca_cert}: this CA is not the one the replicas")
    assert sorted(p.name for p in other.dir.iterdir()) == ["ca.crt", "ca.key"]
    assert other.ca_cert.read_bytes() == certs.cert_pem(cert)


async def test_a_joining_replica_writes_the_shared_admin_token(
    backend: Backend, tmp_path: Path
) -> None:
    first_path = tmp_path / "a.kubeconfig"
    first = await ensure_admin_credentials(backend, first_path, SERVER, b"ca")
    await share_admin_token(backend, first_path, first.token_hash)
    token = read_admin_token(first_path)

    joined_path = tmp_path / "b.kubeconfig"
    written = await sync_admin_kubeconfig(
        backend, joined_path, "https://127.0.0.1:9443", b"ca", joined=True
    )
    assert written
    joined = await ensure_admin_credentials(backend, joined_path, "https://127.0.0.1:9443", b"ca")
    assert not joined.issued_new_token
    assert joined.token_hash == first.token_hash
    assert read_admin_token(joined_path) == token

    # Rotation on the joined replica (kubeconfig deleted): the first one follows.
    joined_path.unlink()
    assert not await sync_admin_kubeconfig(backend, joined_path, SERVER, b"ca", joined=False)
    rotated = await ensure_admin_credentials(backend, joined_path, SERVER, b"ca")
    assert rotated.issued_new_token
    await share_admin_token(backend, joined_path, rotated.token_hash)
    assert await sync_admin_kubeconfig(backend, first_path, SERVER, b"ca", joined=False)
    again = await ensure_admin_credentials(backend, first_path, SERVER, b"ca")
    assert not again.issued_new_token
    assert read_admin_token(first_path) == read_admin_token(joined_path) != token

"""Bootstrap key material shared by every replica of one datastore.

Several ``corral server`` processes on one PostgreSQL or etcd datastore must
present one CA and accept the same tokens. So the CA (certificate and key)
and the service-account signing key are made once and kept in the datastore
at `SHARED_PKI_KEY`, and the admin token at `SHARED_ADMIN_TOKEN_KEY`; both
are under ``/corral/bootstrap/``, which encryption at rest seals with the key
file (docs/encryption.md). That key file is the one secret an operator
copies to every replica, as every kube-apiserver of an HA control plane is
given the same EncryptionConfiguration. This module sits in ``auth``
because it meets ``pki`` (the key material and its files) and ``storage``
(the record), which may not import each other.

Decisions, in the order `share_tls_material` takes them (before
``pki.ensure_tls`` reads the files):

- No record yet: this replica offers what its data directory already holds
  (an existing single server becoming the first replica keeps its CA, which
  agents pin), else a new CA and signing key, with a create-if-absent
  write. Two replicas starting at the same moment both try; the datastore
  lets exactly one create win and the other reads the winner's record.
- A record exists: its material is written to ``<data-dir>/tls`` (keys
  0600), and ``ensure_tls`` then issues this replica's own serving
  certificate, with its own SANs, signed by the shared CA.
- A CA or signing key file already in the data directory that is not the
  shared one stops the start with an error naming the file: replacing it
  would silently break every agent pinned to it and every token it signed.
  Nothing is written then.

The admin token (`sync_admin_kubeconfig`, `share_admin_token`): the first
replica issues it (``corral.auth.admin``) and offers it here; a replica
joining with no ``admin.kubeconfig`` writes one holding the same token, and
a kubeconfig whose token is not the stored one while the shared token is (a
rotation on another replica) is brought up to date; a replica that joins
while the first one has not stored the token yet waits for it (up to
`JOIN_WAIT`), so two replicas started together do not both issue one. Deleting
``admin.kubeconfig`` on a replica that already had one and restarting still
rotates the token, for every replica (the others take it at their restart).

Messages name files and keys, never a key, a token or a hash.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization

from corral.auth import kubeconfig
from corral.auth.bearer import token_sha256
from corral.auth.bootstrap import read_token_hash
from corral.auth.errors import BootstrapError, SharedMaterialError
from corral.pki import certs
from corral.pki.errors import PKIError
from corral.pki.files import ensure_private_directory, write_public_file, write_secret_file
from corral.pki.signingkey import service_account_key_path
from corral.pki.store import TLSPaths
from corral.storage import Backend, KeyExistsError, StorageError

log = logging.getLogger("corral.auth")

SHARED_PKI_KEY = "/corral/bootstrap/shared-pki"
SHARED_ADMIN_TOKEN_KEY = "/corral/bootstrap/admin-token-shared"  # noqa: S105 (a key name)
#: How long a joining replica waits for the first one's admin token, and how often it looks.
JOIN_WAIT, JOIN_POLL = 30.0, 0.1


@dataclass(frozen=True, slots=True)
class SharedTLS:
    """The shared CA (PEM certificate and key) and service-account signing key."""

    ca_cert: bytes
    ca_key: bytes
    service_account_key: bytes

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "caCert": self.ca_cert.decode(),
                "caKey": self.ca_key.decode(),
                "serviceAccountKey": self.service_account_key.decode(),
            }
        )

    @classmethod
    def decode(cls, value: bytes) -> SharedTLS:
        try:
            doc = orjson.loads(value)
            material = cls(
                doc["caCert"].encode(), doc["caKey"].encode(), doc["serviceAccountKey"].encode()
            )
            certs.load_cert_pem(material.ca_cert)
            certs.load_key_pem(material.ca_key)
            certs.load_key_pem(material.service_account_key)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError):
            raise SharedMaterialError(
                f"the shared TLS material at {SHARED_PKI_KEY} in the datastore is damaged"
            ) from None
        return material


@dataclass(frozen=True, slots=True)
class SharedOutcome:
    """What `share_tls_material` did."""

    #: This replica's material became the shared one (first replica).
    offered: bool
    #: The data directory had no CA before and took the shared one (a new replica).
    joined: bool


async def share_tls_material(backend: Backend, paths: TLSPaths) -> SharedOutcome:
    """Agree on the shared CA and signing key and write them under ``paths.dir``.

    Raises `SharedMaterialError` (a local file that is not the shared one, a
    damaged record, the datastore failing) or `PKIError` (a file cannot be
    read or written).
    """
    local = await asyncio.to_thread(_read_local, paths)
    stored = await _read_record(backend)
    offered = False
    if stored is None:
        candidate = local.complete()
        if candidate is None:
            candidate = await asyncio.to_thread(_new_material, local, paths)
        try:
            await backend.create(SHARED_PKI_KEY, candidate.encode())
            offered = True
            stored = candidate
            log.info("stored the TLS material every replica shares", extra={"key": SHARED_PKI_KEY})
        except KeyExistsError:  # another replica won the race: take its material
            stored = await _read_record(backend)
        except StorageError as exc:
            raise SharedMaterialError(f"cannot store {SHARED_PKI_KEY}: {exc}") from None
        if stored is None:
            raise SharedMaterialError(f"{SHARED_PKI_KEY} vanished while starting; start again")
    _check_local_matches(local, stored, paths)
    await asyncio.to_thread(_write_local, paths, stored)
    return SharedOutcome(offered=offered, joined=not offered and local.ca_cert is None)


@dataclass(frozen=True, slots=True)
class _Local:
    ca_cert: bytes | None
    ca_key: bytes | None
    service_account_key: bytes | None

    def complete(self) -> SharedTLS | None:
        if self.ca_cert is None or self.ca_key is None or self.service_account_key is None:
            return None
        return SharedTLS(self.ca_cert, self.ca_key, self.service_account_key)


def _read_local(paths: TLSPaths) -> _Local:
    sa_path = service_account_key_path(paths.dir)
    return _Local(_read(paths.ca_cert), _read(paths.ca_key), _read(sa_path))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SharedMaterialError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _new_material(local: _Local, paths: TLSPaths) -> SharedTLS:
    """A new CA and key, keeping what the data directory already has (checked later)."""
    if local.ca_cert is not None and local.ca_key is not None:
        ca_cert, ca_key = local.ca_cert, local.ca_key
    else:
        cert, key = certs.make_ca(certs.utcnow())
        ca_cert, ca_key = certs.cert_pem(cert), certs.key_pem(key)
        log.info("created a new CA", extra={"file": str(paths.ca_cert)})
    sa_key = local.service_account_key
    if sa_key is None:
        sa_key = certs.key_pem(certs.new_key())
        log.info(
            "created a new service account signing key",
            extra={"file": str(service_account_key_path(paths.dir))},
        )
    return SharedTLS(ca_cert, ca_key, sa_key)


async def _read_record(backend: Backend) -> SharedTLS | None:
    try:
        kv = await backend.get(SHARED_PKI_KEY)
    except StorageError as exc:
        raise SharedMaterialError(f"cannot read {SHARED_PKI_KEY}: {exc}") from None
    return None if kv is None else SharedTLS.decode(kv.value)


def _public_der(key_pem: bytes) -> bytes | None:
    try:
        key = certs.load_key_pem(key_pem)
    except (ValueError, TypeError):
        return None
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_local_matches(local: _Local, shared: SharedTLS, paths: TLSPaths) -> None:
    hint = (
        "is not the one the replicas of this datastore share; move it away to take the shared one"
    )
    if local.ca_cert is not None and _cert_der(local.ca_cert) != _cert_der(shared.ca_cert):
        raise SharedMaterialError(f"{paths.ca_cert}: this CA {hint} (with ca.key)")
    if local.ca_key is not None and _public_der(local.ca_key) != _public_der(shared.ca_key):
        raise SharedMaterialError(f"{paths.ca_key}: this CA key {hint} (with ca.crt)")
    sa = local.service_account_key
    if sa is not None and _public_der(sa) != _public_der(shared.service_account_key):
        path = service_account_key_path(paths.dir)
        raise SharedMaterialError(f"{path}: this signing key {hint}")


def _cert_der(pem: bytes) -> bytes | None:
    try:
        return certs.load_cert_pem(pem).public_bytes(serialization.Encoding.DER)
    except ValueError:
        return None


def _write_local(paths: TLSPaths, shared: SharedTLS) -> None:
    ensure_private_directory(paths.dir)
    sa_path = service_account_key_path(paths.dir)
    for path, data, secret in (
        (paths.ca_key, shared.ca_key, True),
        (paths.ca_cert, shared.ca_cert, False),
        (sa_path, shared.service_account_key, True),
    ):
        if _read(path) == data:
            continue
        (write_secret_file if secret else write_public_file)(path, data)


async def sync_admin_kubeconfig(
    backend: Backend,
    path: Path,
    server_url: str,
    ca_pem: bytes,
    *,
    joined: bool,
    wait: float = JOIN_WAIT,
) -> bool:
    """Write ``path`` with the shared admin token where it belongs; True if written.

    It belongs when this replica just joined and has no kubeconfig, or when
    the kubeconfig's token is not the stored one but the shared token is
    (another replica rotated it). Otherwise ``corral.auth.admin`` decides.
    A joining replica waits up to ``wait`` seconds for the first replica to
    store the token (both may have started at the same moment); after that
    it issues one itself.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        stored = await _stored_hash(backend)
        shared = await _shared_token(backend)
        if stored and shared is not None and hmac.compare_digest(token_sha256(shared), stored):
            break
        # A replica that joined a moment after the first one waits for the
        # first to issue the token rather than racing it with another one.
        if not joined or loop.time() >= deadline:
            return False
        await asyncio.sleep(JOIN_POLL)
    current = await asyncio.to_thread(_file_token, path)
    if current is None and not joined:
        return False  # a deleted kubeconfig on a known replica: rotation (corral.auth.admin)
    if current is not None and hmac.compare_digest(token_sha256(current), stored):
        return False
    fields = kubeconfig.KubeconfigFields(server_url, ca_pem, shared)
    try:
        await asyncio.to_thread(write_secret_file, path, kubeconfig.render(fields))
    except PKIError as exc:
        raise SharedMaterialError(str(exc)) from None
    log.info(
        "wrote the admin kubeconfig with the shared admin token", extra={"kubeconfig": str(path)}
    )
    return True


async def share_admin_token(backend: Backend, path: Path, token_hash: str) -> None:
    """Offer the token of ``path`` (if it is the admin token) to the other replicas."""
    token = await asyncio.to_thread(_file_token, path)
    if token is None or not hmac.compare_digest(token_sha256(token), token_hash):
        return
    try:
        kv = await backend.get(SHARED_ADMIN_TOKEN_KEY)
        value = orjson.dumps({"token": token})
        if kv is None:
            await backend.create(SHARED_ADMIN_TOKEN_KEY, value)
        elif _decode_token(kv.value) != token:
            await backend.update(SHARED_ADMIN_TOKEN_KEY, value, expected_revision=kv.mod_revision)
    except StorageError as exc:
        raise SharedMaterialError(f"cannot store {SHARED_ADMIN_TOKEN_KEY}: {exc}") from None


async def _stored_hash(backend: Backend) -> str:
    try:
        stored = await read_token_hash(backend)
    except BootstrapError as exc:  # the message names the key only
        raise SharedMaterialError(str(exc)) from None
    return "" if stored is None else stored.digest


async def _shared_token(backend: Backend) -> str | None:
    try:
        kv = await backend.get(SHARED_ADMIN_TOKEN_KEY)
    except StorageError as exc:
        raise SharedMaterialError(f"cannot read {SHARED_ADMIN_TOKEN_KEY}: {exc}") from None
    return None if kv is None else _decode_token(kv.value)


def _decode_token(value: bytes) -> str | None:
    try:
        token = orjson.loads(value)["token"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return token if isinstance(token, str) and token else None


def _file_token(path: Path) -> str | None:
    if not path.exists():
        return None
    return kubeconfig.read_admin_token(path)

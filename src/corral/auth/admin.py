"""Issuing the bootstrap admin credentials at start-up.

Decisions, in the order `ensure_admin_credentials` takes them:

- No hash is stored (first start, or a new datastore), or
  ``admin.kubeconfig`` is missing: a new random token
  (``secrets.token_urlsafe(32)``) is made, its hash replaces any stored one
  (so the old token stops working), and the kubeconfig is written (mode
  0600, atomically). Deleting the kubeconfig and restarting is therefore
  how an operator rotates a lost or leaked admin token.
- Both exist and the file's token matches the stored hash: the token is
  kept; the file is rewritten only if the server URL or the CA changed (a
  new ``--https-port``, say), so it keeps working.
- Both exist but the file's token does not match (the file was edited or
  belongs to another datastore): the file is left alone and a warning says
  to delete it to get a new one.

The store is written before the file: if writing the file fails, the next
start finds it missing and issues a new token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from corral.auth import kubeconfig
from corral.auth.bearer import token_sha256
from corral.auth.bootstrap import read_token_hash, write_token_hash
from corral.auth.errors import BootstrapError
from corral.pki.errors import PKIError
from corral.pki.files import write_secret_file
from corral.storage import Backend

log = logging.getLogger("corral.auth")


@dataclass(frozen=True, slots=True)
class AdminCredentials:
    """The outcome: the hash to authenticate against and the kubeconfig path."""

    token_hash: str
    kubeconfig_path: Path
    issued_new_token: bool


async def ensure_admin_credentials(
    backend: Backend, kubeconfig_path: Path, server_url: str, ca_pem: bytes
) -> AdminCredentials:
    """Make sure an admin token exists and ``kubeconfig_path`` holds it.

    Raises `BootstrapError` if the store or the file cannot be written.
    """
    stored = await read_token_hash(backend)
    have_file = await asyncio.to_thread(kubeconfig_path.exists)
    if stored is not None and stored.digest and have_file:
        await asyncio.to_thread(_refresh, kubeconfig_path, stored.digest, server_url, ca_pem)
        return AdminCredentials(stored.digest, kubeconfig_path, issued_new_token=False)

    token = secrets.token_urlsafe(32)
    digest = token_sha256(token)
    await write_token_hash(backend, digest, None if stored is None else stored.revision)
    fields = kubeconfig.KubeconfigFields(server_url, ca_pem, token)
    await asyncio.to_thread(_write, kubeconfig_path, fields)
    log.info("issued a new admin token", extra={"kubeconfig": str(kubeconfig_path)})
    return AdminCredentials(digest, kubeconfig_path, issued_new_token=True)


def _refresh(path: Path, digest: str, server_url: str, ca_pem: bytes) -> None:
    token = kubeconfig.read_admin_token(path)
    if token is None or not hmac.compare_digest(token_sha256(token), digest):
        log.warning(
            "admin kubeconfig does not hold the current admin token; "
            "delete it and restart to issue a new one",
            extra={"kubeconfig": str(path)},
        )
        return
    wanted = kubeconfig.render(kubeconfig.KubeconfigFields(server_url, ca_pem, token))
    try:
        current = path.read_bytes()
    except OSError:
        current = b""
    if current != wanted:
        _write(path, kubeconfig.KubeconfigFields(server_url, ca_pem, token))
        log.info("updated the admin kubeconfig", extra={"kubeconfig": str(path)})


def _write(path: Path, fields: kubeconfig.KubeconfigFields) -> None:
    try:
        write_secret_file(path, kubeconfig.render(fields))
    except PKIError as exc:
        raise BootstrapError(str(exc)) from None

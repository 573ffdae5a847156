"""The service-account signing key: ``<data-dir>/tls/service-account.key``.

Service account tokens are JWTs signed by the API server (ES256, see
``corral.auth.jws``); this module owns the key file they are signed with.
It lives here, in ``corral.pki``, and not in ``corral.auth``, because it is
key material on disk exactly like the CA key next to it: the same directory
(0700), the same atomic 0600 writes (`files.write_secret_file`), the same
"never overwrite a file you cannot read" rule and error tree
(`CertificateFileError`), and the same key type (ECDSA P-256,
`certs.new_key`). ``corral.pki`` is also the lowest layer, so whatever
signs or verifies tokens (the API server's ``serviceaccounts/token``
handler, the authenticator, the tokens controller) can reach it.

Decisions:

- The key is created once, at start-up, when the file does not exist; it is
  never replaced automatically (every issued token would stop working). To
  rotate, remove the file and restart: every service account token issued
  before then is rejected, and the tokens controller re-mints the tokens of
  ``kubernetes.io/service-account-token`` Secrets.
- A file that exists but is not a PEM ECDSA P-256 private key stops the
  start with an error naming it; nothing is written.
- The public half is not written out: it is derived from the private key
  whenever needed (there is no other verifier yet).

The function blocks (file I/O, key generation); async callers run it in a
worker thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from corral.pki import certs
from corral.pki.errors import CertificateFileError
from corral.pki.files import ensure_private_directory, write_secret_file

log = logging.getLogger("corral.pki")

#: File name of the signing key inside the TLS directory.
SERVICE_ACCOUNT_KEY_NAME = "service-account.key"


def service_account_key_path(tls_dir: Path) -> Path:
    """Where the signing key of a TLS directory lives."""
    return tls_dir / SERVICE_ACCOUNT_KEY_NAME


def existing_service_account_key(tls_dir: Path) -> ec.EllipticCurvePrivateKey | None:
    """The signing key in ``tls_dir``, or None if there is none; writes nothing.

    Start-up calls this before anything is written, so that an unusable key
    file stops the start with nothing on disk changed. Raises
    `CertificateFileError` for a file that is present but unusable.
    """
    path = service_account_key_path(tls_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CertificateFileError(path, f"cannot be read: {exc.strerror or exc}") from None
    return load_service_account_key(path, data)


def ensure_service_account_key(tls_dir: Path) -> ec.EllipticCurvePrivateKey:
    """Load the signing key from ``tls_dir``, creating it (mode 0600) if absent.

    Raises `CertificateFileError` for a file that is present but unusable and
    `TLSWriteError` if the directory or the file cannot be written.
    """
    ensure_private_directory(tls_dir)
    key = existing_service_account_key(tls_dir)
    if key is not None:
        return key
    path = service_account_key_path(tls_dir)
    key = certs.new_key()
    write_secret_file(path, certs.key_pem(key))
    log.info("created a new service account signing key", extra={"file": str(path)})
    return key


def load_service_account_key(path: Path, data: bytes) -> ec.EllipticCurvePrivateKey:
    """Parse the key file's bytes; `CertificateFileError` naming ``path`` if unusable."""
    try:
        key = certs.load_key_pem(data)
    except (ValueError, TypeError):
        raise CertificateFileError(path, "is not a PEM ECDSA private key") from None
    if not isinstance(key.curve, ec.SECP256R1):
        raise CertificateFileError(path, "is not a P-256 key (ES256 needs one)")
    return key

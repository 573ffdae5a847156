"""The TLS directory: load what is there, create or reissue what must be.

``<data-dir>/tls/`` holds ``ca.crt``, ``ca.key``, ``serving.crt`` and
``serving.key`` (keys mode 0600, directory 0700). Decisions:

- The CA is created only when neither of its files exists. It is never
  replaced automatically: agents pin its checksum. A CA file that exists but
  cannot be read, does not parse, or lacks its pair is an error naming the
  file, and nothing is written.
- The serving certificate is reissued (new key, signed by the CA) when it is
  missing, does not cover the configured SANs, is not signed by the CA, does
  not match its key, or is due for renewal (`certs.renewal_due`). A serving
  file that exists but does not parse is an error too: a file someone put
  there by hand is never silently overwritten.
- Every write is atomic (`files.write_atomically`), so the server, a renewer
  and a reader never see a certificate without its key.

The functions here block (file I/O, signing); async callers run them in a
worker thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from corral.pki import certs
from corral.pki.errors import CertificateFileError
from corral.pki.files import ensure_private_directory, write_public_file, write_secret_file
from corral.pki.sans import SubjectAltNames

log = logging.getLogger("corral.pki")


@dataclass(frozen=True, slots=True)
class TLSPaths:
    """Where the four TLS files of a data directory live."""

    dir: Path
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path

    @classmethod
    def under(cls, data_dir: Path) -> TLSPaths:
        tls = data_dir / "tls"
        return cls(tls, tls / "ca.crt", tls / "ca.key", tls / "serving.crt", tls / "serving.key")


@dataclass(frozen=True, slots=True)
class CertPolicy:
    """How serving certificates are issued and when they are renewed."""

    serving_lifetime: dt.timedelta = certs.SERVING_LIFETIME
    #: Renew once less than this fraction of the lifetime remains.
    renew_fraction: float = certs.RENEW_FRACTION
    #: Start validity this much before issuing, for clients with a slow clock.
    backdate: dt.timedelta = dt.timedelta(minutes=5)
    #: Seconds between two renewal checks of a running server.
    check_interval: float = 3600.0
    clock: Callable[[], dt.datetime] = field(default=certs.utcnow, compare=False)


@dataclass(frozen=True, slots=True)
class TLSState:
    """The result of `ensure_tls`: what is on disk now and what was done."""

    paths: TLSPaths
    ca_cert: x509.Certificate
    serving_cert: x509.Certificate
    ca_pem: bytes
    created_ca: bool
    #: Why the serving certificate was (re)issued, or "" if it was reused.
    reissued_because: str


def ensure_tls(
    paths: TLSPaths, sans: SubjectAltNames, policy: CertPolicy, *, may_create_ca: bool = True
) -> TLSState:
    """Load or create the CA and a serving certificate covering ``sans``.

    With ``may_create_ca`` false (a running server's renewer), missing CA
    files are an error instead: a CA is only ever made at start-up.
    Raises `CertificateFileError` for a file that is present but unusable and
    `TLSWriteError` if the directory or a file cannot be written.
    """
    ensure_private_directory(paths.dir)
    now = policy.clock()
    ca = _load_ca(paths)
    created_ca = ca is None
    if ca is None and not may_create_ca:
        raise CertificateFileError(
            paths.ca_cert, "is missing; a new CA is only created when the server starts"
        )
    if ca is None:
        ca_cert, ca_key = certs.make_ca(now)
        write_secret_file(paths.ca_key, certs.key_pem(ca_key))
        write_public_file(paths.ca_cert, certs.cert_pem(ca_cert))
        log.info("created a new CA", extra={"file": str(paths.ca_cert)})
    else:
        ca_cert, ca_key = ca
        if ca_cert.not_valid_after_utc <= now:
            raise CertificateFileError(
                paths.ca_cert, f"the CA expired on {ca_cert.not_valid_after_utc:%Y-%m-%d}"
            )
    ca_pem = _read(paths.ca_cert)

    reason = "" if not created_ca else "new CA"
    serving = _load_pair(paths.serving_cert, paths.serving_key)
    if not reason:
        reason = _reissue_reason(serving, ca_cert, sans, now, policy)
    if reason:
        serving_cert, serving_key = certs.issue_serving_cert(
            ca_cert, ca_key, sans, now, policy.serving_lifetime, policy.backdate
        )
        write_secret_file(paths.serving_key, certs.key_pem(serving_key))
        write_public_file(paths.serving_cert, certs.cert_pem(serving_cert))
        log.info(
            "issued a serving certificate",
            extra={
                "reason": reason,
                "sans": sans.describe(),
                "not_after": serving_cert.not_valid_after_utc.isoformat(),
            },
        )
    else:
        assert serving is not None
        serving_cert = serving[0]
    return TLSState(paths, ca_cert, serving_cert, ca_pem, created_ca, reason)


def existing_ca(paths: TLSPaths) -> x509.Certificate | None:
    """The CA certificate in ``paths``, or None if neither CA file exists; writes nothing.

    Start-up calls this before the CA is shared with other replicas, so an
    unusable CA file stops the start and is never offered to them. Raises
    `CertificateFileError` as `ensure_tls` would.
    """
    pair = _load_ca(paths)
    return None if pair is None else pair[0]


def _reissue_reason(
    serving: tuple[x509.Certificate, certs.PrivateKey] | None,
    ca_cert: x509.Certificate,
    sans: SubjectAltNames,
    now: dt.datetime,
    policy: CertPolicy,
) -> str:
    if serving is None:
        return "missing"
    cert, key = serving
    if not certs.key_matches(cert, key):
        return "certificate and key do not match"
    if not certs.is_signed_by(cert, ca_cert):
        return "not signed by the CA"
    if not certs.cert_sans(cert).covers(sans):
        return "SANs changed"
    if certs.renewal_due(cert, now, policy.renew_fraction):
        return "due for renewal"
    return ""


def _load_ca(paths: TLSPaths) -> tuple[x509.Certificate, certs.PrivateKey] | None:
    pair = _load_pair(paths.ca_cert, paths.ca_key, what="the CA")
    if pair is None:
        return None
    cert, key = pair
    if not certs.key_matches(cert, key):
        raise CertificateFileError(paths.ca_key, f"is not the key of {paths.ca_cert.name}")
    return pair


def _load_pair(
    cert_path: Path, key_path: Path, what: str = ""
) -> tuple[x509.Certificate, certs.PrivateKey] | None:
    """Both files parsed, or None if neither exists (or, without ``what``, if
    either is missing). With ``what``, exactly one missing is an error."""
    cert_exists, key_exists = cert_path.exists(), key_path.exists()
    if not cert_exists and not key_exists:
        return None
    if what and cert_exists != key_exists:
        present, absent = (cert_path, key_path) if cert_exists else (key_path, cert_path)
        raise CertificateFileError(
            absent,
            f"is missing but {present.name} exists; restore it, or remove "
            f"{present.name} to create a new {what.removeprefix('the ')}",
        )
    if not (cert_exists and key_exists):
        return None
    cert_data, key_data = _read(cert_path), _read(key_path)
    try:
        cert = certs.load_cert_pem(cert_data)
    except ValueError:
        raise CertificateFileError(cert_path, "is not a PEM certificate") from None
    try:
        key = certs.load_key_pem(key_data)
    except (ValueError, TypeError):
        raise CertificateFileError(key_path, "is not a PEM ECDSA private key") from None
    return cert, key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateFileError(path, f"cannot be read: {exc.strerror or exc}") from None

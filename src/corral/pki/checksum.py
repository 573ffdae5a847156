"""The CA checksum an agent pins: SHA-256 of the CA certificate file's bytes.

The checksum is taken over the PEM file exactly as the server serves it
(like Rancher's ``--ca-checksum``), so an agent can compare it with what it
downloads without re-encoding anything.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from corral.pki.errors import CertificateFileError


def ca_checksum(pem: bytes) -> str:
    """Lower-case hex SHA-256 of the CA certificate's PEM bytes."""
    return hashlib.sha256(pem).hexdigest()


def ca_file_checksum(path: Path) -> str:
    """`ca_checksum` of a file; raises `CertificateFileError` if it cannot be read."""
    try:
        return ca_checksum(path.read_bytes())
    except OSError as exc:
        raise CertificateFileError(path, f"cannot be read: {exc.strerror or exc}") from None

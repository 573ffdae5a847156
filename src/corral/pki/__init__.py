"""Corral's own certificate authority and the server's TLS material.

On every start the server calls `ensure_tls` for ``<data-dir>/tls/``: it
creates a CA (ECDSA P-256, ten years) the first time, and a serving
certificate signed by it whenever the one on disk is missing, no longer
covers the configured SANs, is not the CA's, or is due for renewal. A
running server keeps it fresh with `ServingCertRenewer`, which reloads the
live `ssl.SSLContext` in place. `ca_checksum` is what agents pin.

Errors (`corral.pki.errors`), one tree:

    PKIError
    ├── InvalidSANError        a --tls-san value is neither an IP address nor a DNS name
    ├── CertificateFileError   a file under tls/ is missing its pair, unreadable or unparsable
    └── TLSWriteError          the tls directory or a file in it cannot be created or written
"""

from __future__ import annotations

from corral.pki.checksum import ca_checksum, ca_file_checksum
from corral.pki.context import server_context
from corral.pki.errors import CertificateFileError, InvalidSANError, PKIError, TLSWriteError
from corral.pki.renewer import ServingCertRenewer
from corral.pki.sans import SubjectAltNames, parse_san, serving_sans
from corral.pki.store import CertPolicy, TLSPaths, TLSState, ensure_tls

__all__ = [
    "CertPolicy",
    "CertificateFileError",
    "InvalidSANError",
    "PKIError",
    "ServingCertRenewer",
    "SubjectAltNames",
    "TLSPaths",
    "TLSState",
    "TLSWriteError",
    "ca_checksum",
    "ca_file_checksum",
    "ensure_tls",
    "parse_san",
    "server_context",
    "serving_sans",
]

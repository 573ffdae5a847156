"""The pki package's errors: one tree, so the CLI can turn each into one line.

Every message names the file or value at fault and never contains key
material. Library errors (OSError, ValueError from cryptography, ssl.SSLError)
never escape the package; they are wrapped in one of these.

    PKIError
    ├── InvalidSANError        a --tls-san value is neither an IP address nor a DNS name
    ├── CertificateFileError   a file under tls/ is missing its pair, unreadable or unparsable
    └── TLSWriteError          the tls directory or a file in it cannot be created or written
"""

from __future__ import annotations

from pathlib import Path


class PKIError(Exception):
    """Base of every error the pki package raises."""


class InvalidSANError(PKIError):
    """A subject alternative name is neither an IP address nor a valid DNS name."""

    def __init__(self, value: str, why: str) -> None:
        super().__init__(f"invalid TLS SAN {value!r}: {why}")
        self.value = value


class CertificateFileError(PKIError):
    """A certificate or key file cannot be used as it is; it is left untouched."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


class TLSWriteError(PKIError):
    """A file or directory for TLS material cannot be written."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"cannot write {path}: {problem}")
        self.path = path

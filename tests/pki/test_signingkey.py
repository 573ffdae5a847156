"""The service account signing key file: made once (0600), kept, never overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from corral.pki import CertificateFileError, certs
from corral.pki.signingkey import (
    ensure_service_account_key,
    existing_service_account_key,
    service_account_key_path,
)


def test_created_once_with_mode_0600(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    key = ensure_service_account_key(tls)
    path = service_account_key_path(tls)
    assert path == tls / "service-account.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tls.stat().st_mode) == 0o700
    assert isinstance(key.curve, ec.SECP256R1)
    again = ensure_service_account_key(tls)
    assert again.private_numbers() == key.private_numbers()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a key", "is not a PEM ECDSA private key"),
        (
            certs.key_pem(ec.generate_private_key(ec.SECP384R1())),
            "is not a P-256 key",
        ),
        (
            rsa.generate_private_key(65537, 2048).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "is not a PEM ECDSA private key",
        ),
    ],
)
def test_unusable_file_is_an_error_and_left_alone(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    tls = tmp_path / "tls"
    tls.mkdir(mode=0o700)
    path = service_account_key_path(tls)
    path.write_bytes(content)
    with pytest.raises(CertificateFileError) as info:
        ensure_service_account_key(tls)
    assert str(path) in str(info.value)
    assert problem in str(info.value)
    assert path.read_bytes() == content


def test_existing_key_is_only_read(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    assert existing_service_account_key(tls) is None
    assert not tls.exists()
    key = ensure_service_account_key(tls)
    found = existing_service_account_key(tls)
    assert found is not None
    assert found.private_numbers() == key.private_numbers()

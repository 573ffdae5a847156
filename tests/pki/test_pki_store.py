"""The TLS directory: first creation, reuse, reissue, and refusing bad files."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from corral.pki import (
    CertificateFileError,
    CertPolicy,
    InvalidSANError,
    TLSPaths,
    ca_checksum,
    ca_file_checksum,
    ensure_tls,
    parse_san,
    serving_sans,
)
from corral.pki.certs import is_signed_by, utcnow

SANS = serving_sans(["corral.example.test", "10.1.2.3"], hostname="myhost")


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def paths(tmp_path: Path) -> TLSPaths:
    return TLSPaths.under(tmp_path)


def test_first_start_creates_ca_and_serving_cert(paths: TLSPaths) -> None:
    state = ensure_tls(paths, SANS, CertPolicy())
    assert state.created_ca
    assert mode(paths.dir) == 0o700
    assert mode(paths.ca_key) == 0o600
    assert mode(paths.serving_key) == 0o600
    ca = load(paths.ca_cert)
    (cn,) = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert str(cn.value).startswith("corral-ca@")
    assert int(str(cn.value).split("@")[1]) == pytest.approx(utcnow().timestamp(), abs=60)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert lifetime == dt.timedelta(days=3650)

    serving = load(paths.serving_cert)
    assert is_signed_by(serving, ca)
    san = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {
        "localhost",
        "myhost",
        "corral.example.test",
    }
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("10.1.2.3"),
    }
    eku = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    remaining = serving.not_valid_after_utc - utcnow()
    assert dt.timedelta(days=364) < remaining <= dt.timedelta(days=365)


def test_second_start_reuses_everything(paths: TLSPaths) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    before = {p: p.read_bytes() for p in paths.dir.iterdir()}
    state = ensure_tls(paths, SANS, CertPolicy())
    assert not state.created_ca
    assert state.reissued_because == ""
    assert {p: p.read_bytes() for p in paths.dir.iterdir()} == before


def test_fewer_sans_still_covered_reuses(paths: TLSPaths) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    state = ensure_tls(paths, serving_sans([], hostname="myhost"), CertPolicy())
    assert state.reissued_because == ""


def test_new_san_reissues_serving_cert_with_same_ca(paths: TLSPaths) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    ca_before = paths.ca_cert.read_bytes()
    old = load(paths.serving_cert)
    wider = serving_sans(["corral.example.test", "10.1.2.3", "other.test"], hostname="myhost")
    state = ensure_tls(paths, wider, CertPolicy())
    assert state.reissued_because == "SANs changed"
    assert paths.ca_cert.read_bytes() == ca_before
    new = load(paths.serving_cert)
    assert new.serial_number != old.serial_number
    assert is_signed_by(new, load(paths.ca_cert))
    san = new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "other.test" in san.get_values_for_type(x509.DNSName)


def test_renewal_window(paths: TLSPaths) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    ca_before = paths.ca_cert.read_bytes()
    now = utcnow()
    # 200 days in: more than a third of the year remains, nothing to do.
    later = CertPolicy(clock=lambda: now + dt.timedelta(days=200))
    assert ensure_tls(paths, SANS, later).reissued_because == ""
    # 250 days in: less than a third remains, renewed; the CA stays.
    much_later = CertPolicy(clock=lambda: now + dt.timedelta(days=250))
    state = ensure_tls(paths, SANS, much_later)
    assert state.reissued_because == "due for renewal"
    assert paths.ca_cert.read_bytes() == ca_before
    assert state.serving_cert.not_valid_after_utc > now + dt.timedelta(days=600)


def test_serving_cert_of_another_ca_is_reissued(tmp_path: Path) -> None:
    mine, other = TLSPaths.under(tmp_path / "a"), TLSPaths.under(tmp_path / "b")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ensure_tls(mine, SANS, CertPolicy())
    ensure_tls(other, SANS, CertPolicy())
    mine.serving_cert.write_bytes(other.serving_cert.read_bytes())
    mine.serving_key.write_bytes(other.serving_key.read_bytes())
    state = ensure_tls(mine, SANS, CertPolicy())
    assert state.reissued_because == "not signed by the CA"
    assert is_signed_by(load(mine.serving_cert), load(mine.ca_cert))


def test_mismatched_serving_key_is_reissued(paths: TLSPaths, tmp_path: Path) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    paths.serving_key.write_bytes(paths.ca_key.read_bytes())
    state = ensure_tls(paths, SANS, CertPolicy())
    assert state.reissued_because == "certificate and key do not match"


def test_missing_serving_key_is_reissued(paths: TLSPaths) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    paths.serving_key.unlink()
    assert ensure_tls(paths, SANS, CertPolicy()).reissued_because == "missing"


@pytest.mark.parametrize("name", ["ca.key", "ca.crt", "serving.crt", "serving.key"])
def test_corrupt_file_is_an_error_and_is_left_alone(paths: TLSPaths, name: str) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    broken = paths.dir / name
    broken.write_bytes(b"-----BEGIN garbage\n")
    before = {p.name: p.read_bytes() for p in paths.dir.iterdir()}
    with pytest.raises(CertificateFileError) as info:
        ensure_tls(paths, SANS, CertPolicy())
    message = str(info.value)
    assert str(broken) in message
    assert "\n" not in message
    assert {p.name: p.read_bytes() for p in paths.dir.iterdir()} == before


def test_ca_key_without_ca_cert_is_an_error(paths: TLSPaths) -> None:
    ensure_tls(paths, SANS, CertPolicy())
    paths.ca_cert.unlink()
    key_before = paths.ca_key.read_bytes()
    with pytest.raises(CertificateFileError, match=r"ca\.crt: is missing but ca\.key exists"):
        ensure_tls(paths, SANS, CertPolicy())
    assert paths.ca_key.read_bytes() == key_before
    assert not paths.ca_cert.exists()


def test_ca_key_of_another_ca_is_an_error(tmp_path: Path) -> None:
    mine, other = TLSPaths.under(tmp_path / "a"), TLSPaths.under(tmp_path / "b")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ensure_tls(mine, SANS, CertPolicy())
    ensure_tls(other, SANS, CertPolicy())
    mine.ca_key.write_bytes(other.ca_key.read_bytes())
    with pytest.raises(CertificateFileError, match=r"is not the key of ca\.crt"):
        ensure_tls(mine, SANS, CertPolicy())


def test_ca_checksum_is_sha256_of_the_pem_file(paths: TLSPaths) -> None:
    state = ensure_tls(paths, SANS, CertPolicy())
    expected = hashlib.sha256(paths.ca_cert.read_bytes()).hexdigest()
    assert ca_checksum(state.ca_pem) == expected
    assert ca_file_checksum(paths.ca_cert) == expected


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("10.0.0.1", ipaddress.ip_address("10.0.0.1")),
        ("[fd00::1]", ipaddress.ip_address("fd00::1")),
        ("Corral.Example.TEST.", "corral.example.test"),
        ("*.apps.example.test", "*.apps.example.test"),
    ],
)
def test_parse_san(value: str, parsed: object) -> None:
    assert parse_san(value) == parsed


@pytest.mark.parametrize("value", ["", "bad name", "-x.test", "a..b", "*.test", "x" * 64])
def test_parse_san_rejects(value: str) -> None:
    with pytest.raises(InvalidSANError):
        parse_san(value)

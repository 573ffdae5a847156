"""Making and judging certificates: the CA and the serving certificate.

Everything here is pure (no files): keys are ECDSA P-256 (fast to generate,
so a first start stays well under a second, and accepted by every client);
signatures are ECDSA with SHA-256. The CA is valid for ten years and signs
only certificates (path length 0). A serving certificate carries the
``serverAuth`` usage and its SANs, never outlives its CA, and is due for
renewal once less than a third of its lifetime remains (a one-year
certificate is renewed about four months before it expires). Its validity
may start a little in the past (the *backdate*) so that a client whose clock
is slightly behind does not reject a certificate issued a moment ago.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from corral.pki.sans import SubjectAltNames

PrivateKey = ec.EllipticCurvePrivateKey

CA_LIFETIME = dt.timedelta(days=3650)
SERVING_LIFETIME = dt.timedelta(days=365)
#: Renew a serving certificate once less than this fraction of its lifetime remains.
RENEW_FRACTION = 1 / 3


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def _whole_seconds(when: dt.datetime) -> dt.datetime:
    """``when`` rounded down to the second, as X.509 stores times."""
    return when.replace(microsecond=0)


def new_key() -> PrivateKey:
    """A fresh ECDSA P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(
    now: dt.datetime, lifetime: dt.timedelta = CA_LIFETIME
) -> tuple[x509.Certificate, PrivateKey]:
    """A self-signed CA certificate named ``corral-ca@<unix time>`` and its key."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"corral-ca@{int(now.timestamp())}")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_whole_seconds(now))
        .not_valid_after(_whole_seconds(now + lifetime))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_serving_cert(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    sans: SubjectAltNames,
    now: dt.datetime,
    lifetime: dt.timedelta = SERVING_LIFETIME,
    backdate: dt.timedelta = dt.timedelta(0),
) -> tuple[x509.Certificate, PrivateKey]:
    """A serving certificate for ``sans``, signed by the CA, and its new key."""
    key = new_key()
    not_before = max(_whole_seconds(now - backdate), ca_cert.not_valid_before_utc)
    not_after = min(_whole_seconds(now + lifetime), ca_cert.not_valid_after_utc)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(sans.dns)]
    alt_names += [x509.IPAddress(ip) for ip in sorted(sans.ips, key=lambda a: (a.version, a))]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "corral")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def cert_sans(cert: x509.Certificate) -> SubjectAltNames:
    """The DNS names and IP addresses a certificate is valid for."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return SubjectAltNames()
    ips = frozenset(
        ip
        for ip in ext.get_values_for_type(x509.IPAddress)
        if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
    )
    dns = frozenset(name.lower() for name in ext.get_values_for_type(x509.DNSName))
    return SubjectAltNames(dns, ips)


def is_signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """True if ``ca_cert`` issued ``cert`` (names match and the signature verifies)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def key_matches(cert: x509.Certificate, key: PrivateKey) -> bool:
    """True if ``key`` is the private half of the certificate's public key."""
    return cert.public_key() == key.public_key()


def renewal_due(cert: x509.Certificate, now: dt.datetime, fraction: float = RENEW_FRACTION) -> bool:
    """True if less than ``fraction`` of the certificate's lifetime remains, or
    it is not valid yet (the clock went back)."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < start:
        return True
    return end - now < (end - start) * fraction


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM encoding of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM encoding of a private key (files are mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_cert_pem(data: bytes) -> x509.Certificate:
    """Parse one PEM certificate; raises ValueError if it is not one."""
    return x509.load_pem_x509_certificate(data)


def load_key_pem(data: bytes) -> PrivateKey:
    """Parse a PEM ECDSA private key; raises ValueError (or TypeError) otherwise."""
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an ECDSA private key")
    return key

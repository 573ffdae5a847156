"""Trusting the server: the CA checksum check, then a pinned TLS context.

The agent knows one thing about the server before it connects: the SHA-256
of its CA certificate (``--ca-checksum``, shown with the import command).
`fetch_pinned_ca` asks ``GET <server>/v3/settings/cacerts`` without
verifying TLS — the one request made that way, and it carries no
credential — and accepts the ``value`` only if the hex SHA-256 of its exact
UTF-8 bytes equals the checksum (compared in constant time). `pinned_context`
then makes the context of every later connection: only that CA is trusted,
the certificate is required, and the hostname of the server URL must match
it. A man-in-the-middle may relay the genuine PEM in the first step, but it
cannot present a certificate that CA signed, so the agent's handshake with it
fails and the registration token is never sent.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from typing import Final

import httpx
import orjson

from corral.agent.errors import PinningError

CACERTS_PATH: Final = "/v3/settings/cacerts"
FETCH_TIMEOUT: Final = 15.0


def normalize_checksum(text: str) -> str:
    """``text`` as lowercase hex without a ``sha256:`` prefix; PinningError if it is not one."""
    value = text.strip().lower().removeprefix("sha256:")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise PinningError("--ca-checksum must be a SHA-256 in hex (64 characters)")
    return value


def checksum_of(pem: str) -> str:
    """The hex SHA-256 of the exact bytes of ``pem`` (as the import command shows it)."""
    return hashlib.sha256(pem.encode("utf-8")).hexdigest()


def check_ca(pem: str, checksum: str) -> None:
    """PinningError unless ``pem`` has ``checksum`` (compared in constant time)."""
    expected = normalize_checksum(checksum)
    if not hmac.compare_digest(checksum_of(pem).encode(), expected.encode()):
        raise PinningError(
            "the CA certificate the server serves does not match --ca-checksum; "
            "refusing to connect (wrong checksum, or something in the middle)"
        )


async def fetch_pinned_ca(
    server_url: str, checksum: str, *, request_timeout: float = FETCH_TIMEOUT
) -> str:
    """The server's CA PEM, once its checksum matched; PinningError otherwise."""
    normalize_checksum(checksum)  # a malformed checksum fails before any request
    url = server_url.rstrip("/") + CACERTS_PATH
    try:
        # The only unverified request: no credential goes with it, and its
        # answer is trusted only if it hashes to the checksum.
        async with httpx.AsyncClient(verify=False, timeout=request_timeout) as http:  # noqa: S501
            answer = await http.get(url)
    except httpx.HTTPError as exc:
        raise PinningError(f"cannot fetch the CA from {url}: {exc or type(exc).__name__}") from None
    if answer.status_code != 200:
        raise PinningError(f"cannot fetch the CA from {url}: HTTP {answer.status_code}")
    try:
        value = orjson.loads(answer.content).get("value")
    except (orjson.JSONDecodeError, AttributeError):
        value = None
    if not isinstance(value, str) or "BEGIN CERTIFICATE" not in value:
        raise PinningError(f"{url} did not answer a CA certificate")
    check_ca(value, checksum)
    return value


def pinned_context(ca_pem: str) -> ssl.SSLContext:
    """A client context trusting only ``ca_pem``, requiring a certificate and its hostname."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem)
    except ssl.SSLError as exc:
        raise PinningError(f"the server's CA certificate cannot be loaded: {exc}") from None
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context

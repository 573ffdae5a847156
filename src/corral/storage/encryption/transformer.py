"""Turning a stored value into ciphertext and back: AES-GCM, named keys.

A value under an encrypted prefix is stored as::

    k8s:enc:aesgcm:v1:<key name>:<12-byte random nonce><ciphertext + 16-byte tag>

the same envelope kube-apiserver writes, so the key that decrypts a value
is named in it and several keys can be live during a rotation. The
**storage key** (``/registry/core/secrets/ns/name``) is the AES-GCM
associated data: a value copied to another key, or edited, fails to
decrypt instead of reading as somebody else's Secret.

A value without the ``k8s:enc:`` prefix is plaintext from before
encryption was turned on (or written while it was off): it is read as it is
and rewritten encrypted by the background rewriter. A value naming a key
that is not configured, or one that fails authentication, is a
`DecryptError`, never garbage.

Nonces are random (96 bits): with one key, NIST's bound of 2^32 random-nonce
encryptions is far beyond what a control plane writes between rotations.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corral.storage.encryption.errors import DecryptError
from corral.storage.encryption.keys import KeyFile

ENVELOPE = b"k8s:enc:"
PREFIX = b"k8s:enc:aesgcm:v1:"
NONCE_BYTES = 12


def key_name_of(value: bytes) -> str | None:
    """The key name in a value's envelope, "" for an unknown envelope, None for plaintext."""
    if not value.startswith(ENVELOPE):
        return None
    if not value.startswith(PREFIX):
        return ""
    end = value.find(b":", len(PREFIX))
    return value[len(PREFIX) : end].decode("ascii", "replace") if end > 0 else ""


class Transformer:
    """Encrypts with the primary key, decrypts with any configured key."""

    def __init__(self, keys: KeyFile | None, *, encrypt_writes: bool = True) -> None:
        #: The keys that decrypt (None: no key file; only plaintext is readable).
        self.keys = keys
        self._ciphers = {k.name: AESGCM(k.secret) for k in keys.keys} if keys else {}
        #: Writes stay plaintext without keys or with encryption turned off.
        self._primary = keys.primary.name if keys and encrypt_writes else None
        self._primary_prefix = PREFIX + self._primary.encode() + b":" if self._primary else None

    @property
    def primary(self) -> str | None:
        """The name of the key writes use (None: writes are plaintext)."""
        return self._primary

    def is_current(self, value: bytes) -> bool:
        """True if ``value`` is stored as writes are now (no rewrite needed)."""
        if self._primary_prefix is None:
            return not value.startswith(ENVELOPE)
        return value.startswith(self._primary_prefix)

    def encrypt(self, key: str, value: bytes) -> bytes:
        if self._primary_prefix is None:
            return value
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._primary].encrypt(nonce, value, key.encode())  # type: ignore[index]
        return self._primary_prefix + nonce + sealed

    def decrypt(self, key: str, value: bytes) -> bytes:
        name = key_name_of(value)
        if name is None:
            return value
        cipher = self._ciphers.get(name)
        if cipher is None:
            shown = repr(name) if name else "an unknown envelope"
            raise DecryptError(
                f"the value of {key} is encrypted with key {shown}, which is not in the "
                "encryption key file"
            )
        body = value[len(PREFIX) + len(name) + 1 :]
        try:
            return cipher.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], key.encode())
        except (InvalidTag, ValueError):
            raise DecryptError(
                f"the value of {key} does not decrypt with key {name!r} "
                "(a different key with that name, or a damaged or moved value)"
            ) from None

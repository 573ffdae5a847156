"""Errors of encryption at rest, inside the storage tree.

They derive from `corral.storage.StorageError`, so a caller that already
handles storage failures handles these too:

    StorageError
    └── EncryptionError          anything about encryption at rest
        ├── KeyConfigError       the key file is missing, unreadable or malformed
        └── DecryptError         a stored value cannot be decrypted with the
                                 configured keys (unknown key, wrong key,
                                 tampered or moved value)

Messages name the key file, a key's *name* and a storage key, never a key's
secret or a value.
"""

from __future__ import annotations

from corral.storage.errors import StorageError


class EncryptionError(StorageError):
    """Base of the encryption-at-rest errors."""


class KeyConfigError(EncryptionError):
    """The encryption key file cannot be used."""


class DecryptError(EncryptionError):
    """A stored value cannot be decrypted with the configured keys."""

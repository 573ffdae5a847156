"""Encryption at rest: Secrets and Corral's credentials stored as AES-GCM ciphertext.

A storage-layer wrapper (`EncryptedBackend`) encrypts the values of keys
under `ENCRYPTED_PREFIXES` with the primary key of a key file kept outside
the datastore, and decrypts them on every way out, so every driver stores
only ciphertext and everything above storage sees plaintext.
`EncryptionAtRest` runs it in a server (key file, start-up check,
background re-encryption, rotation without restart). docs/encryption.md
tells the whole story.
"""

from corral.storage.encryption.backend import ENCRYPTED_PREFIXES, EncryptedBackend
from corral.storage.encryption.errors import DecryptError, EncryptionError, KeyConfigError
from corral.storage.encryption.keys import (
    EncryptionKey,
    KeyFile,
    ensure_key_file,
    load_key_file,
    pruned,
    rotated,
    write_key_file,
)
from corral.storage.encryption.rewriter import PLAINTEXT, EncryptionStatus, check, rewrite
from corral.storage.encryption.service import STATUS_NAME, EncryptionAtRest, status_path_for
from corral.storage.encryption.transformer import PREFIX, Transformer, key_name_of

__all__ = [
    "ENCRYPTED_PREFIXES",
    "PLAINTEXT",
    "PREFIX",
    "STATUS_NAME",
    "DecryptError",
    "EncryptedBackend",
    "EncryptionAtRest",
    "EncryptionError",
    "EncryptionKey",
    "EncryptionStatus",
    "KeyConfigError",
    "KeyFile",
    "Transformer",
    "check",
    "ensure_key_file",
    "key_name_of",
    "load_key_file",
    "pruned",
    "rewrite",
    "rotated",
    "status_path_for",
    "write_key_file",
]

"""The encryption key file: its format, loading it, creating and rotating it.

The keys live in one JSON file outside the datastore (by default
``<data-dir>/encryption-config.json``, mode 0600), so that a copy of the
datastore (a backup, a stolen disk image of the database alone) holds only
ciphertext. The file::

    {"apiVersion": "corral.io/v1", "kind": "EncryptionConfiguration",
     "keys": [{"name": "key2", "secret": "<base64 of 32 bytes>"},
              {"name": "key1", "secret": "<base64 of 32 bytes>"}]}

Decisions:

- The **first** key is the primary: every write is encrypted with it (as in
  kube-apiserver's ``EncryptionConfiguration``, where the first provider
  writes). Every listed key decrypts.
- Keys are AES-256 (32 random bytes). Names are short tokens
  (``[A-Za-z0-9._-]``, no ``:``), because they are written in clear in every
  value's prefix to say which key decrypts it.
- `rotate` puts a new key first and keeps the others; `prune` keeps only the
  primary. Both write the file atomically (temporary file, fsync, rename),
  mode 0600 whatever the umask.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import orjson

from corral.storage.encryption.errors import KeyConfigError

KEY_BYTES = 32
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KIND = "EncryptionConfiguration"
_API_VERSION = "corral.io/v1"


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    """One named AES-256 key. Its ``repr`` never shows the secret."""

    name: str
    secret: bytes

    def __repr__(self) -> str:
        return f"EncryptionKey(name={self.name!r})"


@dataclass(frozen=True, slots=True)
class KeyFile:
    """The keys of the file, primary first."""

    keys: tuple[EncryptionKey, ...]

    @property
    def primary(self) -> EncryptionKey:
        return self.keys[0]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def to_json(self) -> bytes:
        doc = {
            "apiVersion": _API_VERSION,
            "kind": _KIND,
            "keys": [
                {"name": k.name, "secret": base64.b64encode(k.secret).decode()} for k in self.keys
            ],
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def new_key(name: str) -> EncryptionKey:
    """A fresh random key called ``name``."""
    return EncryptionKey(name, secrets.token_bytes(KEY_BYTES))


def parse_key_file(data: bytes, path: Path) -> KeyFile:
    """The keys in ``data`` (the file at ``path``), or `KeyConfigError`."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise KeyConfigError(f"encryption key file {path} is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("kind") != _KIND:
        raise KeyConfigError(f"encryption key file {path}: kind must be {_KIND}")
    raw_keys = doc.get("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise KeyConfigError(f"encryption key file {path}: keys must be a non-empty list")
    keys: list[EncryptionKey] = []
    for i, item in enumerate(raw_keys):
        field = f"keys[{i}]"
        if not isinstance(item, dict):
            raise KeyConfigError(f"encryption key file {path}: {field} must be an object")
        name, secret = item.get("name"), item.get("secret")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise KeyConfigError(
                f"encryption key file {path}: {field}.name must be 1-64 of [A-Za-z0-9._-]"
            )
        if name in (k.name for k in keys):
            raise KeyConfigError(f"encryption key file {path}: {field}.name {name!r} is repeated")
        try:
            raw = base64.b64decode(secret, validate=True) if isinstance(secret, str) else b""
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise KeyConfigError(
                f"encryption key file {path}: {field}.secret must be base64 of "
                f"{KEY_BYTES} bytes (key {name!r})"
            )
        keys.append(EncryptionKey(name, raw))
    return KeyFile(tuple(keys))


def load_key_file(path: Path) -> KeyFile:
    """Read and check the key file; `KeyConfigError` if it is unusable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyConfigError(f"encryption key file {path} does not exist") from None
    except OSError as exc:
        raise KeyConfigError(f"cannot read encryption key file {path}: {exc.strerror}") from None
    return parse_key_file(data, path)


def ensure_key_file(path: Path) -> tuple[KeyFile, bool]:
    """The key file at ``path``, created with one new key if absent.

    Returns the keys and whether the file was created now.
    """
    if path.exists():
        return load_key_file(path), False
    keys = KeyFile((new_key("key1"),))
    write_key_file(path, keys)
    return keys, True


def rotated(keys: KeyFile) -> KeyFile:
    """``keys`` with a new primary key first (named ``key<N+1>``)."""
    numbers = [int(n[3:]) for n in keys.names if n.startswith("key") and n[3:].isdigit()]
    name = f"key{max(numbers, default=0) + 1}"
    while name in keys.names:  # hand-named keys may collide
        name = f"{name}x"
    return KeyFile((new_key(name), *keys.keys))


def pruned(keys: KeyFile) -> KeyFile:
    """``keys`` with only the primary left."""
    return KeyFile((keys.primary,))


def write_key_file(path: Path, keys: KeyFile) -> None:
    """Replace the file atomically, mode 0600; `KeyConfigError` on failure."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = keys.to_json()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise KeyConfigError(
            f"cannot write encryption key file {path}: {exc.strerror or exc}"
        ) from None

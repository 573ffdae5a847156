"""Encryption at rest on every driver: ciphertext stored, plaintext served.

Each test runs on memory and SQLite (the ``driver`` fixture); the ones that
grep the database file's raw bytes (WAL included) run on SQLite.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from corral.storage import Backend, EventType, StorageOptions, open_backend
from corral.storage.encryption import (
    PREFIX,
    DecryptError,
    EncryptedBackend,
    EncryptionAtRest,
    KeyConfigError,
    KeyFile,
    Transformer,
    check,
    ensure_key_file,
    load_key_file,
    pruned,
    rewrite,
    rotated,
    write_key_file,
)
from corral.storage.encryption.rewriter import _move

from .helpers import FAST, BackendFactory, eventually, take

SECRET = "/registry/core/secrets/default/db"
CONFIGMAP = "/registry/core/configmaps/default/db"
VALUE = b'{"data":{"password":"aHVudGVyMi1zM2NyZXQ="}}'
MARKER = b"aHVudGVyMi1zM2NyZXQ="


def keys_in(tmp_path: Path) -> KeyFile:
    keys, _ = ensure_key_file(tmp_path / "encryption-config.json")
    return keys


def db_bytes(tmp_path: Path) -> bytes:
    """Every byte of every SQLite file in ``tmp_path`` (database, WAL, shm)."""
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("*.db*")))


async def test_values_under_encrypted_prefixes_are_stored_as_ciphertext(
    backend: Backend, tmp_path: Path
) -> None:
    enc = EncryptedBackend(backend, Transformer(keys_in(tmp_path)))
    created = await enc.create(SECRET, VALUE)
    await enc.create(CONFIGMAP, VALUE)
    assert created.value == VALUE
    raw = await backend.get(SECRET)
    assert raw is not None
    assert raw.value.startswith(PREFIX + b"key1:")
    assert MARKER not in raw.value
    assert (await backend.get(CONFIGMAP)).value == VALUE  # type: ignore[union-attr]
    got = await enc.get(SECRET)
    assert got is not None
    assert got.value == VALUE
    page = await enc.list("/registry/core/secrets/")
    assert [kv.value for kv in page.items] == [VALUE]
    deleted = await enc.delete(SECRET)
    assert deleted.value == VALUE


async def test_watchers_see_plaintext(backend: Backend, tmp_path: Path) -> None:
    enc = EncryptedBackend(backend, Transformer(keys_in(tmp_path)))
    start = await enc.current_revision()
    watch = enc.watch("/registry/core/secrets/", revision=start)
    kv = await enc.create(SECRET, VALUE)
    await enc.update(SECRET, VALUE + b" ", expected_revision=kv.mod_revision)
    events = await take(watch, 2)
    await watch.aclose()
    assert [e.type for e in events] == [EventType.CREATE, EventType.UPDATE]
    assert [e.kv.value for e in events] == [VALUE, VALUE + b" "]


async def test_a_value_moved_to_another_key_does_not_decrypt(
    backend: Backend, tmp_path: Path
) -> None:
    enc = EncryptedBackend(backend, Transformer(keys_in(tmp_path)))
    await enc.create(SECRET, VALUE)
    raw = await backend.get(SECRET)
    assert raw is not None
    await backend.create("/registry/core/secrets/default/copy", raw.value)
    with pytest.raises(DecryptError, match="/registry/core/secrets/default/copy"):
        await enc.get("/registry/core/secrets/default/copy")


async def test_wrong_or_missing_key_stops_the_check(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    enc = EncryptedBackend(backend, Transformer(keys_in(tmp_path / "a")))
    await enc.create(SECRET, VALUE)
    # Another key file whose key has the same name: authentication fails.
    other = EncryptedBackend(backend, Transformer(keys_in(tmp_path / "b")))
    with pytest.raises(DecryptError, match="does not decrypt with key 'key1'") as info:
        await check(other)
    assert MARKER.decode() not in str(info.value)
    # No key file at all.
    with pytest.raises(DecryptError, match="not in the encryption key file"):
        await check(EncryptedBackend(backend, Transformer(None)))


async def test_plaintext_from_before_is_read_and_rewritten(
    backend: Backend, tmp_path: Path
) -> None:
    await backend.create(SECRET, VALUE)
    enc = EncryptedBackend(backend, Transformer(keys_in(tmp_path)))
    assert (await check(enc)).counts == {"identity": 1}
    got = await enc.get(SECRET)
    assert got is not None
    assert got.value == VALUE
    status = await rewrite(enc)
    assert status.counts == {"key1": 1}
    assert status.rewritten == 1
    assert status.settled
    raw = await backend.get(SECRET)
    assert raw is not None
    assert raw.value.startswith(PREFIX + b"key1:")


async def test_rewrite_loses_no_concurrent_write(backend: Backend, tmp_path: Path) -> None:
    keys = keys_in(tmp_path)
    enc = EncryptedBackend(backend, Transformer(keys))
    stale = await enc.create(SECRET, VALUE)
    raw_stale = await backend.get(SECRET)
    assert raw_stale is not None
    enc.set_transformer(Transformer(rotated(keys)))
    await enc.update(SECRET, b'{"newer":true}', expected_revision=stale.mod_revision)
    # The rewriter read the old row; its compare-and-swap loses, the newer write stays.
    assert await _move(enc, raw_stale) is False
    got = await enc.get(SECRET)
    assert got is not None
    assert got.value == b'{"newer":true}'
    assert (await rewrite(enc)).counts == {"key2": 1}


async def test_rotation_moves_every_value_to_the_new_key(
    make_backend: BackendFactory, tmp_path: Path
) -> None:
    backend = await make_backend()
    keys = keys_in(tmp_path)
    enc = EncryptedBackend(backend, Transformer(keys))
    for i in range(1200):  # more than one page
        await enc.create(f"{SECRET}-{i}", VALUE)
    new_keys = rotated(keys)
    assert new_keys.names == ("key2", "key1")
    enc.set_transformer(Transformer(new_keys))
    status = await rewrite(enc)
    assert status.counts == {"key2": 1200}
    assert status.settled
    # Once settled, the old key can go: everything still reads.
    enc.set_transformer(Transformer(pruned(new_keys)))
    assert (await check(enc)).counts == {"key2": 1200}
    got = await enc.get(f"{SECRET}-7")
    assert got is not None
    assert got.value == VALUE


async def test_sqlite_file_holds_no_plaintext_nor_old_ciphertext_after_compaction(
    tmp_path: Path,
) -> None:
    backend = open_backend(f"sqlite://{tmp_path}/state.db", FAST)
    await backend.start()
    try:
        keys = keys_in(tmp_path)
        enc = EncryptedBackend(backend, Transformer(keys))
        kv = await enc.create(SECRET, VALUE)
        kv = await enc.update(SECRET, VALUE + b" ", expected_revision=kv.mod_revision)
        assert MARKER not in db_bytes(tmp_path)  # the history row too
        enc.set_transformer(Transformer(rotated(keys)))
        await rewrite(enc)
        assert PREFIX + b"key1:" in db_bytes(tmp_path)  # history keeps it until compaction
        await backend.compact(await backend.current_revision())
    finally:
        await backend.close()  # checkpoints the WAL
    data = db_bytes(tmp_path)
    assert MARKER not in data
    assert PREFIX + b"key2:" in data
    assert PREFIX + b"key1:" not in data, "compaction left old ciphertext in the file"


async def test_service_creates_the_key_file_and_follows_its_rotation(tmp_path: Path) -> None:
    inner = open_backend("memory://", StorageOptions(compact_interval=0))
    await inner.start()
    path = tmp_path / "encryption-config.json"
    service = EncryptionAtRest(inner, path, poll_interval=0.02)
    try:
        enc = await service.open()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        await enc.create(SECRET, VALUE)
        runner = asyncio.create_task(service.run())
        write_key_file(path, rotated(load_key_file(path)))

        async def moved() -> bool:
            raw = await inner.get(SECRET)
            return raw is not None and raw.value.startswith(PREFIX + b"key2:")

        await eventually(moved, what="the rewrite onto key2")
        status = (tmp_path / "encryption-status.json").read_bytes()
        assert b'"primary": "key2"' in status
        runner.cancel()
    finally:
        await inner.close()


def test_a_malformed_key_file_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text('{"kind": "EncryptionConfiguration", "keys": [{"name": "a", "secret": "x"}]}')
    with pytest.raises(KeyConfigError, match=r"keys\[0\]\.secret"):
        load_key_file(path)
    with pytest.raises(KeyConfigError, match="does not exist"):
        load_key_file(tmp_path / "missing.json")

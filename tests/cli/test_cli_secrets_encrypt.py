"""``corral secrets-encrypt`` on its files: what status says, when prune refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from corral.storage.encryption import ensure_key_file, load_key_file, rotated, write_key_file
from serverproc import run_corral


def prepare(tmp_path: Path, **status: Any) -> Path:
    path = tmp_path / "encryption-config.json"
    keys, _ = ensure_key_file(path)
    keys = rotated(keys)
    write_key_file(path, keys)
    doc = {
        "primary": "key2",
        "configured": ["key2", "key1"],
        "counts": {"key2": 3},
        "state": "done",
        "settled": True,
        "rewriteRevision": 10,
        "compactedRevision": 10,
        "historyClear": True,
        "updated": "2026-11-24T00:00:00+00:00",
    }
    doc.update(status)
    (tmp_path / "encryption-status.json").write_text(json.dumps(doc))
    return path


def test_status_shows_keys_and_counts(tmp_path: Path) -> None:
    prepare(tmp_path, counts={"key2": 2, "key1": 1}, settled=False)
    done = run_corral(("secrets-encrypt", "status", "--data-dir", str(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "primary key: key2" in done.stdout
    assert "keys: key2, key1" in done.stdout
    assert "stored values: key1=1, key2=2" in done.stdout
    assert "secret" not in done.stdout.lower().replace("secrets-encrypt", "")


def test_prune_refuses_while_values_use_old_keys(tmp_path: Path) -> None:
    path = prepare(tmp_path, counts={"key2": 2, "key1": 1}, settled=False)
    done = run_corral(("secrets-encrypt", "prune", "--data-dir", str(tmp_path), "--force"))
    assert done.returncode == 1
    assert "corral: error: stored values are still under key1" in done.stderr
    assert load_key_file(path).names == ("key2", "key1")


def test_prune_refuses_when_the_server_has_not_seen_the_file(tmp_path: Path) -> None:
    prepare(tmp_path, configured=["key1"])
    done = run_corral(("secrets-encrypt", "prune", "--data-dir", str(tmp_path)))
    assert done.returncode == 1
    assert "has not reported on this key file yet" in done.stderr


def test_prune_keeps_only_the_primary(tmp_path: Path) -> None:
    path = prepare(tmp_path)
    done = run_corral(("secrets-encrypt", "prune", "--data-dir", str(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "removed key1; key2 is the only key" in done.stdout
    assert load_key_file(path).names == ("key2",)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_malformed_key_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "encryption-config.json").write_text("{nope")
    done = run_corral(("secrets-encrypt", "rotate", "--data-dir", str(tmp_path)))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"corral: error: encryption key file {tmp_path / 'encryption-config.json'} "
        "is not valid JSON"
    )

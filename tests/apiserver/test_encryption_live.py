"""Encryption at rest in a real ``corral server``, rotated with ``corral secrets-encrypt``.

A Secret created with kubectl is stored as ciphertext; ``rotate`` makes a
new primary key, the running server re-encrypts the Secret with it (no
restart), ``prune`` removes the old key once allowed, and the server still
starts and serves the Secret with only the new key. A server given the
wrong key refuses to start, with one clear line.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubectlproc import kubectl_ok
from polling import poll
from serverproc import CorralServer, run_corral, running_server, stop_server

MARKER = "zz-encryption-live-marker-zz"
FAST_POLL = ("--encryption-config-poll-interval", "0.1")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("encryption")


@pytest.fixture(scope="module")
def home(workdir: Path) -> Path:
    path = workdir / "home"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[CorralServer]:
    with running_server(workdir / "data", FAST_POLL) as srv:
        yield srv


def status(data_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((data_dir / "encryption-status.json").read_text())
    return doc


def secret_value(server: CorralServer, home: Path) -> str:
    data = kubectl_ok(server, home, "get", "secret", "db", "-o", "jsonpath={.data.pw}")
    return base64.b64decode(data).decode()


def corral(*args: str) -> str:
    done = run_corral(args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_key_file_is_created_private(server: CorralServer) -> None:
    key_file = server.data_dir / "encryption-config.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [k["name"] for k in json.loads(key_file.read_text())["keys"]] == ["key1"]


def test_a_secret_is_stored_encrypted(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "secret", "generic", "db", f"--from-literal=pw={MARKER}")
    assert secret_value(server, home) == MARKER
    raw = b"".join(p.read_bytes() for p in server.data_dir.glob("state.db*"))
    assert MARKER.encode() not in raw
    assert base64.b64encode(MARKER.encode()) not in raw
    assert b"k8s:enc:aesgcm:v1:key1:" in raw


def test_rotation_re_encrypts_without_restart(server: CorralServer, home: Path) -> None:
    data_dir = str(server.data_dir)
    assert "primary key: key1" in corral("secrets-encrypt", "status", "--data-dir", data_dir)
    out = corral("secrets-encrypt", "rotate", "--data-dir", data_dir)
    assert "new primary key key2" in out

    def settled() -> bool:
        doc = status(server.data_dir)
        return bool(doc["configured"] == ["key2", "key1"] and doc["settled"])

    poll(settled, "the server re-encrypts everything with key2", deadline=15)
    # The Secret, the admin token record, the admin user's password Secret and
    # the two records replicas share (docs/replicas.md) are under key2 now.
    assert status(server.data_dir)["counts"] == {"key2": 5}
    assert secret_value(server, home) == MARKER
    shown = corral("secrets-encrypt", "status", "--data-dir", data_dir)
    assert "keys: key2, key1" in shown
    assert "key2=5" in shown
    # Old ciphertext is still in the log's history until compaction (5 minutes,
    # 10,000 revisions by default): prune waits for it unless forced.
    refused = run_corral(("secrets-encrypt", "prune", "--data-dir", data_dir))
    assert refused.returncode == 1
    assert "not compacted yet" in refused.stderr
    out = corral("secrets-encrypt", "prune", "--data-dir", data_dir, "--force")
    assert "removed key1" in out
    poll(lambda: status(server.data_dir)["configured"] == ["key2"], "the pruned keys loaded")
    assert secret_value(server, home) == MARKER


def test_restart_with_only_the_new_key_serves_the_secret(
    server: CorralServer, home: Path, workdir: Path
) -> None:
    assert stop_server(server) == 0
    raw = b"".join(p.read_bytes() for p in server.data_dir.glob("state.db*"))
    assert MARKER.encode() not in raw
    assert b"k8s:enc:aesgcm:v1:key2:" in raw
    with running_server(server.data_dir) as again:
        assert secret_value(again, home) == MARKER


def test_a_wrong_key_stops_the_start(server: CorralServer, workdir: Path) -> None:
    other = workdir / "other-keys.json"
    assert (
        run_corral(
            ("secrets-encrypt", "rotate", "--encryption-provider-config", str(other))
        ).returncode
        == 1
    )  # no such file to rotate
    key_file = server.data_dir / "encryption-config.json"
    doc = json.loads(key_file.read_text())
    doc["keys"][0]["secret"] = base64.b64encode(b"\x01" * 32).decode()
    other.write_text(json.dumps(doc))
    done = run_corral(
        (
            "server",
            "--data-dir",
            str(server.data_dir),
            "--encryption-provider-config",
            str(other),
            "--https-port",
            "0",
            "--http-port",
            "0",
            "--bind-address",
            "127.0.0.1",
        )
    )
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("corral: error: encryption at rest: the value of /")
    assert "does not decrypt with key 'key2'" in line

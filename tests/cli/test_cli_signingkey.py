"""The service account signing key at start-up: made once (0600) and kept across
restarts; an unusable key file stops the start with one line and nothing written."""

from __future__ import annotations

import stat
from pathlib import Path

from serverproc import free_port, run_corral, running_server


def start_args(data_dir: Path) -> list[str]:
    return [
        "server",
        "--data-dir",
        str(data_dir),
        "--bind-address",
        "127.0.0.1",
        "--https-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
    ]


def test_key_is_made_once_and_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key_file = data_dir / "tls" / "service-account.key"
    with running_server(data_dir) as server:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert "created a new service account signing key" in server.stderr()
        first = key_file.read_bytes()
    with running_server(data_dir):
        assert key_file.read_bytes() == first


def test_unusable_key_stops_the_start_and_nothing_is_written(tmp_path: Path) -> None:
    tls = tmp_path / "data" / "tls"
    tls.mkdir(parents=True, mode=0o700)
    (tls / "service-account.key").write_bytes(b"not a key")
    result = run_corral(start_args(tmp_path / "data"))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("corral: error: ")]
    assert errors == [
        f"corral: error: {tls / 'service-account.key'}: is not a PEM ECDSA private key"
    ]
    assert sorted(p.name for p in tls.iterdir()) == ["service-account.key"]
    assert (tls / "service-account.key").read_bytes() == b"not a key"

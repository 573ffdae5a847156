"""Expected start-up failures: one ``corral: error: …`` line, exit 1, no
traceback, and nothing on disk changed."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from serverproc import free_port, run_corral, running_server


def start_args(data_dir: Path, *extra: str) -> list[str]:
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
        *extra,
    ]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("corral: error: ")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result.stderr
    return lines[0]


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_invalid_yaml_config(tmp_path: Path) -> None:
    config = tmp_path / "corral.yaml"
    config.write_text("https-port: [8443\n")
    result = run_corral(start_args(tmp_path / "data", "--config", str(config)))
    assert_one_line_error(result, str(config), "invalid YAML")
    assert not (tmp_path / "data").exists()


def test_unknown_config_key(tmp_path: Path) -> None:
    config = tmp_path / "corral.yaml"
    config.write_text("http-prot: 80\n")
    result = run_corral(start_args(tmp_path / "data", "--config", str(config)))
    assert_one_line_error(result, str(config), "unknown key 'http-prot'")


def test_https_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = start_args(tmp_path / "data")
        args[args.index("--https-port") + 1] = str(port)
        result = run_corral(args)
    assert_one_line_error(result, f"HTTPS port {port} is already in use", "--https-port")
    # Checked before the datastore or any TLS file is created.
    assert not (tmp_path / "data" / "state.db").exists()
    assert not (tmp_path / "data" / "tls").exists()


def test_unknown_datastore_scheme(tmp_path: Path) -> None:
    result = run_corral(start_args(tmp_path / "data", "--datastore", "mysql://db/corral"))
    assert_one_line_error(result, "--datastore", "'mysql'")


def test_corrupt_datastore_is_left_untouched(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = data_dir / "state.db"
    garbage = os.urandom(8192)
    db.write_bytes(garbage)
    result = run_corral(start_args(data_dir))
    assert_one_line_error(result, str(db))
    assert db.read_bytes() == garbage
    assert not (data_dir / "admin.kubeconfig").exists()


def test_data_dir_is_a_file(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run_corral(start_args(not_a_dir))
    assert_one_line_error(result, f"data directory {not_a_dir} exists and is not a directory")
    result = run_corral(start_args(not_a_dir / "data"))
    assert_one_line_error(result, f"cannot create data directory {not_a_dir / 'data'}")
    assert not_a_dir.read_text() == "x"


def test_corrupt_ca_key_is_reported_and_kept(tmp_path: Path) -> None:
    tls = tmp_path / "data" / "tls"
    tls.mkdir(parents=True)
    (tls / "ca.crt").write_bytes(b"not a certificate")
    (tls / "ca.key").write_bytes(b"not a key")
    result = run_corral(start_args(tmp_path / "data"))
    assert_one_line_error(result, str(tls / "ca.crt"), "is not a PEM certificate")
    assert (tls / "ca.key").read_bytes() == b"not a key"
    assert (tls / "ca.crt").read_bytes() == b"not a certificate"


def test_second_server_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir) as first:
        before = tree(data_dir / "tls") | {"admin.kubeconfig": first.kubeconfig_path.read_bytes()}
        result = run_corral(start_args(data_dir))
        assert_one_line_error(result, "in use")
        after = tree(data_dir / "tls") | {"admin.kubeconfig": first.kubeconfig_path.read_bytes()}
        assert after == before

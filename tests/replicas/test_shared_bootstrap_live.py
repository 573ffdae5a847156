"""Replicas of one datastore share the CA and the admin token (real servers, SQLite).

SQLite allows one server at a time, so here the replicas take turns on one
database file; the PostgreSQL and etcd tests run them side by side. What a
user notices: a second data directory on the same datastore serves the same
CA, accepts the first replica's admin token and writes its own kubeconfig
with it; a replica given another encryption key file is refused with one
line saying to use the same file.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from corral.cli.startup import SAME_KEY_FILE_HINT
from serverproc import free_port, kubeconfig_token, run_corral, running_server


def shared_args(tmp_path: Path) -> list[str]:
    return [
        "--datastore",
        f"sqlite://{tmp_path / 'shared.db'}",
        "--encryption-provider-config",
        str(tmp_path / "encryption-config.json"),
    ]


def test_a_second_replica_serves_the_same_ca_and_accepts_the_same_token(tmp_path: Path) -> None:
    args = shared_args(tmp_path)
    with running_server(tmp_path / "a", args) as first:
        token = first.token
        with first.client(token) as c:
            created = c.post(
                "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "from-a"}}
            )
            assert created.status_code == 201, created.text
    with running_server(tmp_path / "b", args) as second:
        assert second.ca_path.read_bytes() == first.ca_path.read_bytes()
        assert kubeconfig_token(second.kubeconfig_path) == token
        # The client trusts only A's CA file, and reaches B.
        with first.client(token) as via_a_ca:
            via_a_ca.base_url = second.https_url
            seen = via_a_ca.get("/api/v1/namespaces/default/configmaps/from-a")
            assert seen.status_code == 200, seen.text
        a_sa = (first.data_dir / "tls" / "service-account.key").read_bytes()
        assert (second.data_dir / "tls" / "service-account.key").read_bytes() == a_sa
    serving = [
        x509.load_pem_x509_certificate((d / "tls" / "serving.crt").read_bytes())
        for d in (first.data_dir, second.data_dir)
    ]
    assert serving[0].serial_number != serving[1].serial_number  # each replica its own


def test_a_replica_with_another_key_file_is_refused(tmp_path: Path) -> None:
    with running_server(tmp_path / "a", shared_args(tmp_path)):
        pass
    third = tmp_path / "c"
    result = run_corral(
        [
            "server",
            "--data-dir",
            str(third),
            "--bind-address",
            "127.0.0.1",
            "--https-port",
            str(free_port()),
            "--http-port",
            str(free_port()),
            "--datastore",
            f"sqlite://{tmp_path / 'shared.db'}",
        ]
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("corral: error: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("corral: error: encryption at rest: the value of /")
    assert " does not decrypt with key " in errors[0]
    assert errors[0].endswith(SAME_KEY_FILE_HINT)
    assert not (third / "tls").exists()
    assert not (third / "admin.kubeconfig").exists()

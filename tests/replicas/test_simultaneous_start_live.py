"""Two fresh replicas started at the same moment on one datastore agree on
one CA and one admin token (the datastore's create-if-absent decides), and
only one of them makes the admin User."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from corral.storage.encryption import ensure_key_file
from serverproc import CorralServer, kubeconfig_token, start_server, stop_server

from .datastores import DRIVERS, shared_datastore
from .replicaset import replica_args

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("driver", DRIVERS)
def test_two_replicas_started_together_share_one_ca_and_token(driver: str, tmp_path: Path) -> None:
    ensure_key_file(tmp_path / "encryption-config.json")  # distributed before the start
    with shared_datastore(driver) as url:
        args = replica_args(tmp_path, url)
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(start_server, tmp_path / f"r{i}", args) for i in range(2)]
            servers: list[CorralServer] = [f.result() for f in futures]
        try:
            a, b = servers
            assert a.ca_path.read_bytes() == b.ca_path.read_bytes()
            assert kubeconfig_token(a.kubeconfig_path) == kubeconfig_token(b.kubeconfig_path)
            # One admin User, made by one replica: one bootstrap password file.
            made = [s for s in servers if (s.data_dir / "bootstrap-password").exists()]
            assert len(made) == 1
            for server in servers:
                with server.client(a.token) as c:
                    assert c.get("/api/v1/namespaces").status_code == 200
        finally:
            for server in servers:
                stop_server(server)

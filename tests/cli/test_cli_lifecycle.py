"""Restarts and shutdown of a real server: what is kept, what is reissued,
and how a signal ends it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import orjson
from cryptography import x509

from corral.pki.certs import is_signed_by
from serverproc import CorralServer, kubeconfig_token, running_server, start_server, stop_server


def tls_files(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (data_dir / "tls").iterdir()}


def metrics_status(server: CorralServer, token: str) -> int:
    with server.client(token) as c:
        return c.get("/metrics").status_code


def test_restart_reuses_ca_cert_and_token(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, ["--log-format", "json"]) as first:
        files = tls_files(data_dir)
        token = first.token
        assert metrics_status(first, token) == 200
    lines = first.stderr().splitlines()
    records = [orjson.loads(line) for line in lines if line.strip()]
    assert {"time", "level", "logger", "msg"} <= set(records[0])
    assert any(r["msg"] == "corral is serving" for r in records)
    assert any(r["logger"] == "uvicorn.access" and r.get("path") == "/readyz" for r in records)
    assert token not in first.stderr()

    with running_server(data_dir) as second:
        assert tls_files(data_dir) == files
        assert second.token == token
        assert metrics_status(second, token) == 200
        with second.client() as c:
            assert c.get("/readyz").status_code == 200  # the datastore reopened fine


def test_new_tls_san_reissues_serving_cert_under_same_ca(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir):
        before = tls_files(data_dir)
    with running_server(data_dir, ["--tls-san", "new.example.test"]) as server:
        after = tls_files(data_dir)
        with server.client() as c:
            assert c.get("/readyz").status_code == 200  # verified against the same CA
    assert after["ca.crt"] == before["ca.crt"]
    assert after["ca.key"] == before["ca.key"]
    assert after["serving.crt"] != before["serving.crt"]
    cert = x509.load_pem_x509_certificate(after["serving.crt"])
    assert is_signed_by(cert, x509.load_pem_x509_certificate(after["ca.crt"]))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "new.example.test" in san.get_values_for_type(x509.DNSName)


def test_deleting_kubeconfig_issues_a_new_token(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir) as first:
        old_token = first.token
    first.kubeconfig_path.unlink()
    with running_server(data_dir) as second:
        new_token = kubeconfig_token(second.kubeconfig_path)
        assert new_token != old_token
        assert metrics_status(second, new_token) == 200
        assert metrics_status(second, old_token) == 401


def wait_for_shutdown_readiness(server: CorralServer) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        response = httpx.get(f"{server.http_url}/readyz", timeout=2)
        if response.status_code == 500:
            return response
        assert time.monotonic() < deadline, "readiness never failed"
        time.sleep(0.02)


def test_sigterm_fails_readiness_then_exits_0(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", ["--shutdown-delay", "1.5"])
    try:
        server.proc.send_signal(signal.SIGTERM)
        response = wait_for_shutdown_readiness(server)
        assert "[-]shutdown failed: the server is shutting down\n" in response.text
        assert httpx.get(f"{server.http_url}/livez", timeout=2).status_code == 200
        code = server.proc.wait(20)  # no second signal: it stops by itself after the delay
    finally:
        if server.proc.poll() is None:
            stop_server(server, signal.SIGKILL)
    assert code == 0, server.stderr()
    assert "datastore closed" in server.stderr()


def test_second_signal_exits_at_once(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", ["--shutdown-delay", "60"])
    try:
        server.proc.send_signal(signal.SIGINT)
        wait_for_shutdown_readiness(server)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGINT)
        code = server.proc.wait(10)
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
    assert code == 1
    assert time.monotonic() - started < 5
    assert "second signal, exiting immediately" in server.stderr()
    # The datastore was not closed cleanly, yet it opens again.
    with running_server(tmp_path / "data") as again, again.client() as c:
        assert c.get("/readyz").status_code == 200

"""A real ``corral server`` over real TLS: what a client on the network sees."""

from __future__ import annotations

import base64
import ipaddress
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509

from corral.pki.certs import is_signed_by
from serverproc import CorralServer, module_server

EXTRA_SAN = "corral.example.test"


server = module_server("live", ["--tls-san", EXTRA_SAN, "--tls-san", "192.0.2.7"])


def test_readyz_over_tls(server: CorralServer) -> None:
    with server.client() as c:
        response = c.get("/readyz")
        assert response.status_code == 200
        assert response.text == "ok"
        verbose = c.get("/readyz?verbose")
    assert verbose.status_code == 200
    assert verbose.text == (
        "[+]ping ok\n[+]storage ok\n[+]watch-cache ok\n[+]crd-informer-synced ok\n"
        "[+]rbac-synced ok\n[+]shutdown ok\n"
        "readyz check passed\n"
    )


def test_livez_and_healthz(server: CorralServer) -> None:
    with server.client() as c:
        assert c.get("/livez").text == "ok"
        assert c.get("/healthz?verbose").text.endswith("healthz check passed\n")


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_401_without_valid_token(server: CorralServer, token: str | None) -> None:
    with server.client(token) as c:
        response = c.get("/metrics")
    assert response.status_code == 401
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_metrics_with_admin_token(server: CorralServer) -> None:
    with server.client(server.token) as c:
        c.get("/readyz")
        response = c.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "corral_http_requests_total{" in response.text
    assert "corral_http_request_duration_seconds_bucket{" in response.text
    assert "process_resident_memory_bytes" in response.text


def test_unknown_path_is_404_status(server: CorralServer) -> None:
    with server.client(server.token) as c:
        response = c.get("/apis/nothing.here/v1")
    assert response.status_code == 404
    assert response.json()["reason"] == "NotFound"
    assert response.json()["kind"] == "Status"


def test_plain_http_serves_health_and_redirects_the_rest(server: CorralServer) -> None:
    https_port = httpx.URL(server.https_url).port
    with httpx.Client(base_url=server.http_url, follow_redirects=False) as c:
        assert c.get("/readyz").text == "ok"
        assert c.get("/livez").status_code == 200
        for path in ("/metrics", "/", "/api/v1/pods?watch=1"):
            response = c.get(path, headers={"Authorization": f"Bearer {server.token}"})
            assert response.status_code == 308, path
            assert response.headers["location"] == f"https://127.0.0.1:{https_port}{path}"
            assert server.token not in response.text


def peer_certificate(server: CorralServer) -> x509.Certificate:
    url = httpx.URL(server.https_url)
    assert url.port is not None
    with (
        socket.create_connection((url.host, url.port), timeout=5) as raw,
        server.ssl_context().wrap_socket(raw, server_hostname=url.host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_serving_cert_sans_and_chain(server: CorralServer) -> None:
    cert = peer_certificate(server)
    ca = x509.load_pem_x509_certificate(server.ca_path.read_bytes())
    assert is_signed_by(cert, ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(san.get_values_for_type(x509.DNSName))
    assert {"localhost", EXTRA_SAN, socket.gethostname().lower()} <= dns
    ips = set(san.get_values_for_type(x509.IPAddress))
    assert {ipaddress.ip_address(a) for a in ("127.0.0.1", "::1", "192.0.2.7")} <= ips
    assert (
        cert.serial_number
        == x509.load_pem_x509_certificate(
            (server.data_dir / "tls" / "serving.crt").read_bytes()
        ).serial_number
    )


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_tls_1_1_is_refused_and_1_2_accepted(server: CorralServer) -> None:
    ctx = server.ssl_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(httpx.ConnectError), httpx.Client(verify=ctx) as c:
        c.get(f"{server.https_url}/readyz")
    ctx = server.ssl_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(verify=ctx) as c:
        assert c.get(f"{server.https_url}/readyz").status_code == 200


def test_admin_kubeconfig_is_private_and_works(server: CorralServer) -> None:
    path = server.kubeconfig_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc: Any = yaml.safe_load(path.read_text())
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"] == server.https_url
    ca_pem = base64.b64decode(cluster["certificate-authority-data"])
    assert ca_pem == server.ca_path.read_bytes()
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    token = doc["users"][0]["user"]["token"]
    with httpx.Client(verify=ctx, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get(f"{cluster['server']}/metrics").status_code == 200


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_with_admin_kubeconfig(server: CorralServer) -> None:
    with tempfile.TemporaryDirectory() as home:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(server.kubeconfig_path), "get", "--raw", "/metrics"],
            capture_output=True,
            text=True,
            timeout=30,
            env={"HOME": home, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        )
    assert result.returncode == 0, result.stderr
    assert "corral_http_requests_total" in result.stdout


def test_logs_hold_no_token(server: CorralServer) -> None:
    with server.client(server.token) as c:
        c.get("/metrics")
    log = server.stderr()
    assert "uvicorn.access request" in log
    assert server.token not in log
    assert f"https://127.0.0.1:{httpx.URL(server.https_url).port}/" in log
    assert str(Path(server.kubeconfig_path)) in log
    assert "Traceback" not in log

"""The audit pieces on their own: policy, records of impersonated requests, the writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from corral.apiserver.asgi import AnyResponse, Request, Response
from corral.apiserver.audit import Audit, AuditLog, Level, may_record_body, request_uri
from corral.apiserver.requestinfo import parse_request_info
from corral.machinery.authn import UserInfo
from corral.machinery.status import Forbidden


def info(method: str, path: str) -> bool:
    return may_record_body(parse_request_info(method, path, {}))


def test_bodies_that_are_never_recorded() -> None:
    assert not info("POST", "/api/v1/namespaces/a/secrets")
    assert not info("PUT", "/api/v1/namespaces/a/secrets/s")
    assert not info("POST", "/api/v1/namespaces/a/serviceaccounts/default/token")
    assert not info("POST", "/apis/authentication.k8s.io/v1/tokenreviews")
    assert not info("POST", "/apis/management.corral.io/v1/tokens")
    assert not info("POST", "/v3-public/localProviders/local")
    assert not info("POST", "/v3/tokens")
    assert not info("POST", "/v3/users/u-1")
    assert info("POST", "/api/v1/namespaces/a/configmaps")
    assert info("POST", "/api/v1/namespaces/a/serviceaccounts")
    assert info("PATCH", "/apis/apps/v1/namespaces/a/deployments/web")


def test_credentials_in_uris_are_redacted() -> None:
    assert request_uri("/v3/import/abc_c-1.yaml", "") == "/v3/import/<redacted>_c-1.yaml"
    assert request_uri("/v3/import/abc", "") == "/v3/import/<redacted>"
    assert request_uri("/v3-public/x", "token=abc&a=1") == "/v3-public/x?token=[redacted]&a=1"
    assert request_uri("/x", "Password=p&labelSelector=a%3Db") == (
        "/x?Password=[redacted]&labelSelector=a%3Db"
    )
    assert request_uri("/api/v1/pods", "") == "/api/v1/pods"


def test_level_parsing() -> None:
    assert Level.parse("metadata") is Level.METADATA
    with pytest.raises(ValueError, match="RequestResponse"):
        Level.parse("RequestResponse")


def scope(path: str, query: bytes = b"") -> dict[str, object]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": [(b"user-agent", b"test/1.0"), (b"x-forwarded-for", b"10.0.0.9")],
        "client": ("127.0.0.1", 5555),
    }


async def test_an_impersonated_request_names_both_users(tmp_path: Path) -> None:
    sink = AuditLog(str(tmp_path / "audit.log"), registry=CollectorRegistry())
    sink.start()
    admin = UserInfo("admin", "uid-1", ("system:masters",))
    bob = UserInfo("bob", groups=("system:authenticated",))

    async def impersonating_handler(request: Request) -> AnyResponse:
        # What authentication and impersonation leave on the request.
        request.impersonator, request.user = admin, bob
        return Response(200)

    async def forbidden(request: Request) -> AnyResponse:
        request.user = bob
        raise Forbidden("no")

    audit = Audit(sink, Level.METADATA)
    await audit(Request(scope("/api/v1/namespaces/a/pods/p")), impersonating_handler)
    with pytest.raises(Forbidden):
        await audit(Request(scope("/api/v1/nodes")), forbidden)
    await sink.close()
    first, second = (json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines())
    assert first["user"] == {"username": "admin", "uid": "uid-1", "groups": ["system:masters"]}
    assert first["impersonatedUser"] == {"username": "bob", "groups": ["system:authenticated"]}
    assert first["sourceIPs"] == ["10.0.0.9", "127.0.0.1"]
    assert first["userAgent"] == "test/1.0"
    assert first["objectRef"]["name"] == "p"
    assert second["responseStatus"]["code"] == 403
    assert second["user"]["username"] == "bob"
    assert "impersonatedUser" not in second


async def test_logins_are_audited_and_probes_are_not(tmp_path: Path) -> None:
    sink = AuditLog(str(tmp_path / "audit.log"), registry=CollectorRegistry())
    sink.start()

    async def refused_login(request: Request) -> AnyResponse:
        return Response(401)

    audit = Audit(sink, Level.REQUEST)
    for path in ("/healthz", "/readyz/etcd", "/livez", "/version"):
        await audit(Request(scope(path)), refused_login)
    login = scope("/v3-public/localProviders/local", b"action=login")
    await audit(Request(login), refused_login)
    await audit(Request(scope("/cacerts")), refused_login)
    await sink.close()
    records = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    assert [r["requestURI"] for r in records] == [
        "/v3-public/localProviders/local?action=login",
        "/cacerts",
    ]
    assert records[0]["responseStatus"]["code"] == 401
    assert records[0]["user"] == {}


async def test_a_full_queue_drops_and_counts(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    sink = AuditLog(str(tmp_path / "audit.log"), queue_size=3, registry=registry)
    for i in range(5):  # the writer has not run yet: the queue fills
        sink.emit(f'{{"n":{i}}}\n'.encode())
    sink.start()
    await sink.close()
    assert sink.dropped == 2
    assert registry.get_sample_value("corral_audit_events_dropped_total") == 2
    assert registry.get_sample_value("corral_audit_events_total") == 3
    assert len((tmp_path / "audit.log").read_text().splitlines()) == 3


async def test_the_file_is_rotated_by_size(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = AuditLog(str(path), max_bytes=100, max_backups=2, registry=CollectorRegistry())
    sink.start()
    line = b'{"x":"' + b"a" * 40 + b'"}\n'  # 49 bytes: two per file
    for _ in range(10):
        sink.emit(line)
        await sink.close()  # one write per line
        sink.start()
    await sink.close()
    files = {p.name: p.stat() for p in tmp_path.iterdir()}  # noqa: ASYNC240
    assert sorted(files) == ["audit.log", "audit.log.1", "audit.log.2"]
    assert all(st.st_size <= 100 for st in files.values())
    assert files["audit.log"].st_mode & 0o777 == 0o600

"""The real kubectl reads the documents: explain (v3 and the v2 protobuf) and field validation.

A minimal HTTP server serves discovery and the documents this package builds;
kubectl, with default flags, must explain built-in and CRD fields from them and
must decide that the server validates fields (it then sends
``fieldValidation=Strict`` with a create).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from corral.machinery.openapi import (
    GVK,
    PROTOBUF_ACCEPT_TYPES,
    Document,
    OpenAPIPublisher,
    ServedResource,
    scale,
)
from corral.machinery.openapi.resources import ALL_VERBS

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

RESOURCES = [
    ServedResource("", "v1", "ConfigMap", "configmaps", True),
    ServedResource("apps", "v1", "Deployment", "deployments", True, subresources=(scale(),)),
    ServedResource("example.com", "v1", "Widget", "widgets", True, strategic_merge_patch=False),
]
WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {"size": {"type": "string", "description": "How big the widget is."}},
        }
    },
}


def _resource_list(group_version: str) -> dict[str, Any]:
    served = [r for r in RESOURCES if r.group_version == group_version]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": r.resource,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(ALL_VERBS),
            }
            for r in served
        ],
    }


def _discovery() -> dict[str, Any]:
    groups = []
    for gv in ("apps/v1", "example.com/v1"):
        version = {"groupVersion": gv, "version": "v1"}
        groups.append(
            {"name": gv.split("/")[0], "versions": [version], "preferredVersion": version}
        )
    return {
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
        "/api": {"kind": "APIVersions", "versions": ["v1"]},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups},
        "/api/v1": _resource_list("v1"),
        "/apis/apps/v1": _resource_list("apps/v1"),
        "/apis/example.com/v1": _resource_list("example.com/v1"),
    }


class _Server:
    def __init__(self) -> None:
        self.publisher = OpenAPIPublisher()
        self.publisher.update(RESOURCES, {GVK("example.com", "v1", "Widget"): WIDGET_SCHEMA})
        self.routes = _discovery()
        self.requests: list[str] = []

    def document(self, path: str, accept: str) -> Document | None:
        if path == "/openapi/v2":
            protobuf = any(t in accept for t in PROTOBUF_ACCEPT_TYPES)
            return self.publisher.v2_protobuf() if protobuf else self.publisher.v2()
        if path == "/openapi/v3":
            return self.publisher.v3_index()
        if path.startswith("/openapi/v3/"):
            return self.publisher.v3_document(path.removeprefix("/openapi/v3/"))
        if path in self.routes:
            body = json.dumps(self.routes[path]).encode()
            return Document(body, "")
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[_Server, str]]:
    state = _Server()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append(f"GET {self.path}")
            doc = state.document(self.path.split("?")[0], self.headers.get("Accept") or "")
            if doc is None:
                self._send(
                    404, b'{"kind":"Status","apiVersion":"v1","code":404}', "application/json"
                )
            else:
                self._send(200, doc.body, doc.content_type)

        def do_POST(self) -> None:
            state.requests.append(f"POST {self.path}")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(201, body, "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _kubectl(url: str, tmp_path: Path, *args: str, stdin: str = "") -> str:
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": url}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    cache = tmp_path / "cache"
    done = subprocess.run(
        ["kubectl", f"--kubeconfig={config}", f"--cache-dir={cache}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_explain_from_v3(server: tuple[_Server, str], tmp_path: Path) -> None:
    _, url = server
    out = _kubectl(url, tmp_path, "explain", "deployments.spec.replicas")
    assert "FIELD: replicas <integer>" in out
    assert "Number of desired pods" in out
    out = _kubectl(url, tmp_path, "explain", "widgets.spec.size")
    assert "How big the widget is." in out


def test_explain_from_v2_protobuf(server: tuple[_Server, str], tmp_path: Path) -> None:
    state, url = server
    out = _kubectl(
        url,
        tmp_path,
        "explain",
        "deployments.spec.template.spec.containers.ports",
        "--output=plaintext-openapiv2",
    )
    assert "containerPort\t<integer> -required-" in out
    assert any(r.startswith("GET /openapi/v2") for r in state.requests)


def test_kubectl_sees_field_validation(server: tuple[_Server, str], tmp_path: Path) -> None:
    state, url = server
    manifest = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: d}\n"
    _kubectl(url, tmp_path, "create", "-f", "-", stdin=manifest)
    posts = [r for r in state.requests if r.startswith("POST /apis/example.com/v1/")]
    assert posts
    assert "fieldValidation=Strict" in posts[-1]
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: d}\n"
    _kubectl(url, tmp_path, "create", "-f", "-", stdin=manifest)
    assert "fieldValidation=Strict" in state.requests[-1]

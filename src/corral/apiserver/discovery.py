"""Discovery: ``/version``, ``/api``, ``/apis`` and their per-group documents.

Clients learn what the server serves here before anything else (kubectl
calls ``/version`` and the aggregated form of ``/api`` and ``/apis`` first).
Served, as in Kubernetes 1.32:

- ``/version``: a Kubernetes 1.32 version document plus ``corralVersion``;
  public (no token), like ``/healthz``.
- ``/api`` (APIVersions), ``/api/v1`` and ``/apis/<group>/<version>``
  (APIResourceList, with subresources listed as ``pods/status``), ``/apis``
  (APIGroupList), ``/apis/<group>`` (APIGroup).
- Aggregated discovery, when Accept asks for
  ``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList``:
  one APIGroupDiscoveryList for ``/api`` (the core group) and one for
  ``/apis``, answered with that Content-Type.

Documents depend only on the registry, so they are encoded once and served
with an ETag (a matching If-None-Match gets 304).
"""

from __future__ import annotations

import hashlib
import platform
from typing import Any

import orjson

from corral import __version__
from corral.apiserver.asgi import Request, Response
from corral.apiserver.registry import (
    SERVED_SUBRESOURCES,
    SUBRESOURCE_VERB_TABLE,
    Registry,
    ResourceType,
)
from corral.apiserver.requestinfo import RequestInfo
from corral.machinery.status import MethodNotAllowedError, NotFoundError

KUBE_MAJOR, KUBE_MINOR, KUBE_GIT_VERSION = "1", "32", "v1.32.0"
AGGREGATED = b"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
JSON = b"application/json"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "amd64": "amd64"}


#: The kind a subresource speaks when it is not the resource's own (as
#: kube-apiserver's discovery reports them).
SUBRESOURCE_KINDS: dict[str, dict[str, str]] = {
    "scale": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
    "token": {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"},
    "eviction": {"group": "policy", "version": "v1", "kind": "Eviction"},
    "binding": {"group": "", "version": "v1", "kind": "Binding"},
    "exec": {"group": "", "version": "v1", "kind": "PodExecOptions"},
    "attach": {"group": "", "version": "v1", "kind": "PodAttachOptions"},
    "portforward": {"group": "", "version": "v1", "kind": "PodPortForwardOptions"},
}


def version_document() -> dict[str, str]:
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower() or "amd64")
    return {
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": KUBE_GIT_VERSION,
        "gitCommit": "corral",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": f"linux/{arch}",
        "corralVersion": __version__,
    }


def _served_subresources(rt: ResourceType) -> list[str]:
    return [s for s in rt.subresources if s in SERVED_SUBRESOURCES]


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": rt.resource,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    out = [entry]
    for sub in _served_subresources(rt):
        sub_entry: dict[str, Any] = {
            "name": f"{rt.resource}/{sub}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(SUBRESOURCE_VERB_TABLE[sub]),
        }
        if sub in SUBRESOURCE_KINDS:
            sub_entry.update(SUBRESOURCE_KINDS[sub])
        out.append(sub_entry)
    return out


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    out: dict[str, Any] = {
        "resource": rt.resource,
        "responseKind": kind,
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    subs = [
        {
            "subresource": s,
            "responseKind": SUBRESOURCE_KINDS.get(s, kind),
            "verbs": list(SUBRESOURCE_VERB_TABLE[s]),
        }
        for s in _served_subresources(rt)
    ]
    if subs:
        out["subresources"] = subs
    return out


class Discovery:
    """Encoded discovery documents for one registry."""

    def __init__(self, registry: Registry) -> None:
        self._docs: dict[tuple[str, bool], tuple[bytes, bytes]] = {}
        groups = registry.groups()
        core_versions = groups.get("", [])
        self._add(
            "/api",
            False,
            {
                "kind": "APIVersions",
                "versions": core_versions,
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
            },
        )
        named = []
        for group, versions in groups.items():
            for version in versions:
                path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
                resources = []
                for rt in registry.in_group_version(group, version):
                    resources.extend(_resource_entries(rt))
                gv = f"{group}/{version}" if group else version
                self._add(
                    path,
                    False,
                    {
                        "kind": "APIResourceList",
                        "apiVersion": "v1",
                        "groupVersion": gv,
                        "resources": resources,
                    },
                )
            if not group:
                continue
            entry = {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                "preferredVersion": {
                    "groupVersion": f"{group}/{versions[0]}",
                    "version": versions[0],
                },
            }
            named.append(entry)
            self._add(f"/apis/{group}", False, {"kind": "APIGroup", "apiVersion": "v1", **entry})
        self._add("/apis", False, {"kind": "APIGroupList", "apiVersion": "v1", "groups": named})
        self._add("/api", True, self._aggregated(registry, core=True))
        self._add("/apis", True, self._aggregated(registry, core=False))

    def _add(self, path: str, aggregated: bool, doc: dict[str, Any]) -> None:
        body = orjson.dumps(doc)
        etag = b'"%s"' % hashlib.sha256(body).hexdigest()[:32].encode()
        self._docs[(path, aggregated)] = (body, etag)

    @staticmethod
    def _aggregated(registry: Registry, *, core: bool) -> dict[str, Any]:
        items = []
        for group, versions in registry.groups().items():
            if (group == "") != core:
                continue
            items.append(
                {
                    "metadata": {"name": group, "creationTimestamp": None}
                    if group
                    else {"creationTimestamp": None},
                    "versions": [
                        {
                            "version": v,
                            "resources": [
                                _aggregated_resource(rt)
                                for rt in registry.in_group_version(group, v)
                            ],
                            "freshness": "Current",
                        }
                        for v in versions
                    ],
                }
            )
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        }

    def handle(self, request: Request, info: RequestInfo) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowedError(f"{request.method} is not allowed on {request.path}")
        path = "/" + request.path.strip("/")
        aggregated = path in ("/api", "/apis") and _wants_aggregated(request)
        found = self._docs.get((path, aggregated))
        if found is None:
            raise NotFoundError()
        body, etag = found
        headers = [(b"etag", etag)]
        if request.headers.get("if-none-match", "") == etag.decode():
            return Response(304, b"", AGGREGATED if aggregated else JSON, headers)
        return Response(200, body, AGGREGATED if aggregated else JSON, headers)


def _wants_aggregated(request: Request) -> bool:
    for part in request.headers.get("accept", "").split(","):
        params = {
            k.strip().lower(): v.strip()
            for k, _, v in (p.partition("=") for p in part.split(";")[1:])
        }
        if (
            params.get("g") == "apidiscovery.k8s.io"
            and params.get("v") == "v2"
            and params.get("as") == "APIGroupDiscoveryList"
        ):
            return True
        if part.split(";")[0].strip() in ("application/json", "*/*"):
            return False
    return False


def version_response() -> Response:
    return Response(200, orjson.dumps(version_document()), JSON)

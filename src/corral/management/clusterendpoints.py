"""The /v3 endpoints of clusters: settings, import manifests, kubeconfigs.

Routes (`ClusterEndpoints.routes`; Rancher's shapes):

- ``GET /v3/settings/cacerts`` (public, like Rancher): ``{"type": "setting",
  "id": "cacerts", "name": "cacerts", "value": "<the exact PEM>"}`` — what
  agents hash for ``--ca-checksum``. ``GET /v3/settings/<name>``: the same
  shape for any Setting, for callers RBAC lets ``get`` it.
- ``GET /v3/import/<token>_<cluster>.yaml`` (public; the registration token
  in the path is the credential): the import manifest
  (`corral.management.importmanifest`). An unknown token, a token of
  another cluster, a cluster being deleted: the same 404, which says
  nothing about which part was wrong. Logs and audit records never show
  the token (``corral.machinery.redaction``).
- ``POST /v3/clusters/<id>?action=generateKubeconfig`` and ``POST
  /v3/clusters?action=generateKubeconfig`` ``{"clusters": [ids…]}`` (ids or
  display names; none: every cluster the caller may use): ``{"config": "<kubeconfig YAML>"}``
  (`corral.management.kubeconfigs`) with a fresh ``kubeconfig`` token of
  the caller. A cluster the caller may not use is a 404 like a missing one
  (`corral.management.clusteraccess`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from corral.apiserver.asgi import AnyResponse, Request, Response
from corral.apiserver.authorizer import authorizer_of
from corral.apiserver.handlers.context import ServerParts
from corral.apiserver.objectreader import CachedObjects
from corral.apiserver.pipeline import Route
from corral.apiserver.responses import json_response
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes
from corral.machinery.status import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    MethodNotAllowed,
    NotFound,
    NotFoundError,
    ServiceUnavailable,
    Unauthorized,
)
from corral.management.clusteraccess import ClusterUsers
from corral.management.clusterkinds import setting_value
from corral.management.endpoints import read_json
from corral.management.importmanifest import ImportParameters, render_manifest
from corral.management.kinds import GROUP, VERSION
from corral.management.kubeconfigs import ClusterEntry, render_kubeconfig
from corral.management.registration import parse_import_name
from corral.management.registrationtokens import RegistrationTokens
from corral.management.serversettings import (
    AGENT_IMAGE,
    CACERTS,
    SERVER_URL,
    ca_checksum,
    default_agent_image,
)
from corral.management.tokens import Tokens

SETTINGS_PATH: Final = "/v3/settings"
IMPORT_PATH: Final = "/v3/import"
CLUSTERS_PATH: Final = "/v3/clusters"
GENERATE_KUBECONFIG: Final = "generateKubeconfig"
NO_SERVER_URL: Final = (
    "the server-url setting is empty: set it (corral server --server-url, or "
    "kubectl edit setting server-url) so that clusters and kubeconfigs know this server's address"
)


def _setting_view(setting: Mapping[str, Any]) -> dict[str, Any]:
    name = setting["metadata"]["name"]
    return {
        "type": "setting",
        "id": name,
        "name": name,
        "value": setting_value(setting),
        "default": setting.get("default", ""),
    }


class ClusterEndpoints:
    """The /v3 routes of clusters; usable once `bind` gave them their services."""

    def __init__(self, parts: ServerParts, users: ClusterUsers, ca_pem: bytes) -> None:
        self._parts = parts
        self._users = users
        self._ca_pem = ca_pem
        self._objects = CachedObjects(parts, GROUP, VERSION)
        self._tokens: Tokens | None = None
        self._registration: RegistrationTokens | None = None

    def bind(self, tokens: Tokens | None, registration: RegistrationTokens) -> None:
        self._tokens, self._registration = tokens, registration

    def routes(self) -> list[Route]:
        return [
            Route("v3-settings", SETTINGS_PATH, self.settings, subpaths=True),
            Route("v3-import", IMPORT_PATH, self.import_manifest, subpaths=True),
            Route("v3-clusters", CLUSTERS_PATH, self.clusters, subpaths=True),
        ]

    async def _setting(self, name: str) -> Mapping[str, Any] | None:
        return await self._objects.current("settings", "", name)

    async def _value(self, name: str) -> str:
        return setting_value(await self._setting(name))

    # -- settings -------------------------------------------------------------------

    async def settings(self, request: Request) -> AnyResponse:
        name = request.subpath
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed("settings", request.method, group=GROUP)
        if not name or "/" in name:
            raise NotFoundError("the server could not find the requested resource")
        if name != CACERTS:
            user = _user(request)
            attrs = Attributes("get", group=GROUP, version=VERSION, resource="settings", name=name)
            if not authorizer_of(self._parts).authorize(user, attrs).allowed:
                raise Forbidden.for_request(
                    user=user.name, verb="get", resource="settings", group=GROUP, name=name
                )
        setting = await self._setting(name)
        if setting is None:
            raise NotFound("settings", name, group=GROUP)
        return json_response(200, _setting_view(setting))

    # -- import -----------------------------------------------------------------------

    async def import_manifest(self, request: Request) -> AnyResponse:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed("import", request.method)
        if self._registration is None:
            raise ServiceUnavailable("the cluster service is starting; try again")
        parsed = parse_import_name(request.subpath)
        found = None if parsed is None else await self._registration.cluster_for_token(parsed[0])
        if parsed is None or found is None or found != parsed[1]:
            raise NotFoundError("the server could not find the requested resource")
        token, cluster_id = parsed
        cluster = await self._users.cluster(cluster_id)
        if cluster is None or (cluster.get("metadata") or {}).get("deletionTimestamp"):
            raise NotFoundError("the server could not find the requested resource")
        server_url = await self._value(SERVER_URL)
        if not server_url:
            raise ServiceUnavailable(NO_SERVER_URL)
        params = ImportParameters(
            cluster=cluster_id,
            server_url=server_url,
            token=token,
            ca_checksum=ca_checksum(await self._value(CACERTS)),
            image=await self._value(AGENT_IMAGE) or default_agent_image(),
        )
        response = Response(200, render_manifest(params), b"application/yaml")
        response.headers.append((b"cache-control", b"no-store"))
        return response

    # -- kubeconfigs --------------------------------------------------------------------

    async def clusters(self, request: Request) -> AnyResponse:
        user = _user(request)
        action = (request.query.get("action") or [""])[0]
        if request.method != "POST":
            raise MethodNotAllowed("clusters", request.method, group=GROUP)
        if action != GENERATE_KUBECONFIG:
            raise BadRequest(f"unknown action {action!r} on {request.path}")
        if request.subpath and "/" not in request.subpath:
            wanted: list[str] | None = [request.subpath]
        elif request.subpath:
            raise NotFoundError("the server could not find the requested resource")
        else:
            wanted = _wanted_clusters(await read_json(request))
        return json_response(200, {"config": await self._kubeconfig(user, wanted)})

    async def _kubeconfig(self, user: UserInfo, wanted: list[str] | None) -> str:
        if self._tokens is None:
            raise ServiceUnavailable("the identity service is starting; try again")
        if user.name.startswith("system:"):
            raise Forbidden(
                "clusters", "", "only Corral users get kubeconfigs for clusters", group=GROUP
            )
        entries = [
            ClusterEntry(c["metadata"]["name"], _display(c))
            for c in await self._chosen(user, wanted)
        ]
        server_url = await self._value(SERVER_URL)
        if not server_url:
            raise Conflict("settings", SERVER_URL, NO_SERVER_URL, group=GROUP)
        token, _ = await self._tokens.issue(
            user.name, "kubeconfig", description="kubeconfig for clusters"
        )
        return render_kubeconfig(server_url, self._ca_pem.decode(), user.name, str(token), entries)

    async def _chosen(self, user: UserInfo, wanted: list[str] | None) -> list[Mapping[str, Any]]:
        if wanted is None:
            mine = [c for c in self._all() if self._users.may_use_cluster(user, c)]
            return sorted(mine, key=lambda c: str(c["metadata"]["name"]))
        chosen = []
        for ref in wanted:
            cluster = await self._users.cluster(ref) or self._by_display_name(ref)
            if cluster is None or not self._users.may_use_cluster(user, cluster):
                raise NotFound("clusters", ref, group=GROUP)
            chosen.append(cluster)
        return chosen

    def _all(self) -> list[Mapping[str, Any]]:
        rt = self._parts.registry.lookup(GROUP, VERSION, "clusters")
        if rt is None or rt.storage_prefix not in self._parts.caches:
            raise ServiceUnavailable("the cluster kinds are not served yet")
        objects, _ = self._parts.caches[rt.storage_prefix].snapshot(rt.storage_prefix)
        return [o.obj for o in objects]

    def _by_display_name(self, name: str) -> Mapping[str, Any] | None:
        return next((c for c in self._all() if _display(c) == name), None)


def _display(cluster: Mapping[str, Any]) -> str:
    spec = cluster.get("spec") or {}
    name = spec.get("displayName")
    return name if isinstance(name, str) and name else str(cluster["metadata"]["name"])


def _wanted_clusters(body: dict[str, Any]) -> list[str] | None:
    value = body.get("clusters")
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        error = FieldError.invalid("clusters", value, "a list of cluster ids")
        raise Invalid("Cluster", "", [error], group=GROUP)
    return list(dict.fromkeys(value))


def _user(request: Request) -> UserInfo:
    if request.user is None:
        raise Unauthorized()
    return request.user

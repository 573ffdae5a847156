"""The Kubernetes API routes: ``/api``, ``/apis`` and ``/version``, dispatched by verb.

`KubeAPI.handle` parses the request (`requestinfo`), answers discovery
paths itself, finds the resource type (404 for an unknown resource or
subresource, 405 for a verb the type does not serve) and hands the request
to its verb's handler module. Resource paths are checked for scope: a
namespaced resource needs a namespace to address one object, a
cluster-scoped one has none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from corral.apiserver.asgi import AnyResponse, Request
from corral.apiserver.discovery import Discovery, version_response
from corral.apiserver.handlers import (
    binding,
    eviction,
    get,
    patch,
    scale,
    selfsubject,
    tokenrequest,
    watch,
    writes,
)
from corral.apiserver.handlers import list as list_verb
from corral.apiserver.handlers.context import ServerParts, Verb
from corral.apiserver.podconnect import CONNECT_SUBRESOURCES, connect
from corral.apiserver.registry import SERVED_SUBRESOURCES, SUBRESOURCE_VERB_TABLE
from corral.apiserver.requestinfo import RequestInfo, parse_request_info
from corral.machinery.status import MethodNotAllowed, MethodNotAllowedError, NotFoundError

VerbHandler = Callable[[Verb], Awaitable[AnyResponse]]

_HANDLERS: dict[str, VerbHandler] = {
    "get": get.get,
    "list": list_verb.list_,
    "watch": watch.watch,
    "create": writes.create,
    "update": writes.update,
    "patch": patch.patch,
    "delete": writes.delete,
    "deletecollection": writes.delete_collection,
}
_SCALE_HANDLERS: dict[str, VerbHandler] = {
    "get": scale.get_scale,
    "update": scale.update_scale,
    "patch": scale.patch_scale,
}
#: pods/log, exec, attach, portforward: to the pod's node (`podconnect`).
_CONNECT_HANDLERS: dict[str, VerbHandler] = {"get": connect, "create": connect}
#: serviceaccounts/token: a TokenRequest (`handlers.tokenrequest`).
_TOKEN_HANDLERS: dict[str, VerbHandler] = {"create": tokenrequest.create_token}
#: pods/eviction: delete within the disruption budget (`handlers.eviction`).
_EVICTION_HANDLERS: dict[str, VerbHandler] = {"create": eviction.create_eviction}
#: pods/binding: assign a pod to a node (`handlers.binding`).
_BINDING_HANDLERS: dict[str, VerbHandler] = {"create": binding.create_binding}
_NEEDS_NAME = frozenset({"get", "update", "patch", "delete"})


class KubeAPI:
    """Serves every path under ``/api`` and ``/apis``, and ``/version``."""

    def __init__(self, parts: ServerParts) -> None:
        self.parts = parts
        self.discovery = Discovery(parts.registry)

    def refresh_discovery(self) -> None:
        """Rebuild the discovery documents (the registry changed: a CRD)."""
        self.discovery = Discovery(self.parts.registry)

    async def handle(self, request: Request) -> AnyResponse:
        if request.path.rstrip("/") == "/version":
            if request.method not in ("GET", "HEAD"):
                raise MethodNotAllowedError(f"{request.method} is not allowed on /version")
            return version_response()
        info = parse_request_info(request.method, request.path, request.query)
        if not info.is_resource_request:
            return self.discovery.handle(request, info)
        return await self.resource(request, info)

    async def resource(self, request: Request, info: RequestInfo) -> AnyResponse:
        rt = self.parts.registry.lookup(info.group, info.version, info.resource)
        if rt is None or info.parts:
            raise NotFoundError()
        is_namespace = rt.group == "" and rt.resource == "namespaces"
        if not rt.namespaced and info.namespace and not is_namespace:
            raise NotFoundError()
        if rt.namespaced and not info.namespace and info.verb in _NEEDS_NAME | {"create"}:
            raise NotFoundError()
        if info.subresource:
            if info.subresource not in rt.subresources or info.subresource not in (
                SERVED_SUBRESOURCES
            ):
                raise NotFoundError()
            allowed = SUBRESOURCE_VERB_TABLE[info.subresource]
        else:
            allowed = rt.verbs
        handlers = _SCALE_HANDLERS if info.subresource == "scale" else _HANDLERS
        if info.subresource in CONNECT_SUBRESOURCES:
            handlers = _CONNECT_HANDLERS
        elif info.subresource == "token":
            handlers = _TOKEN_HANDLERS
        elif info.subresource == "eviction":
            handlers = _EVICTION_HANDLERS
        elif info.subresource == "binding":
            handlers = _BINDING_HANDLERS
        elif not rt.stored:
            review = selfsubject.REVIEW_HANDLERS.get((rt.group, rt.resource))
            handlers = {"create": review} if review is not None else {}
        handler = handlers.get(info.verb)
        verb_ok = info.verb in allowed or (info.verb == "watch" and "watch" in rt.verbs)
        if handler is None or not verb_ok:
            raise MethodNotAllowed(rt.resource, _action(info.verb), group=rt.group)
        return await handler(Verb(request, info, rt, self.parts))


def _action(verb: str) -> str:
    return {"deletecollection": "deletecollection", "create": "create"}.get(verb, verb)

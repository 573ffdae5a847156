"""What a request asks for: parsed once from its method, path and query.

Kubernetes decides a request's verb, resource and scope from its URL alone
(``k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory``), before
authorization; Corral does the same, with the same rules:

- Resource requests live under ``/api/<version>/`` (the core group) and
  ``/apis/<group>/<version>/``. ``/api``, ``/api/v1`` (no resource),
  ``/apis``, ``/apis/<group>`` and ``/apis/<group>/<version>`` are discovery:
  not resource requests.
- ``namespaces/<ns>/<resource>[/<name>[/<subresource>]]`` is namespaced;
  ``namespaces/<name>[/status|/finalize]`` is the namespace object itself.
- The legacy ``/watch/`` segment after the version makes the verb ``watch``.
- GET with a name is ``get``; without a name ``list``, or ``watch`` with
  ``?watch=true`` (or ``1``). DELETE without a name is ``deletecollection``.
  POST is ``create``, PUT ``update``, PATCH ``patch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Sub-paths of ``namespaces/<name>`` that belong to the namespace itself.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})

_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}

#: Verbs that change state (counted against the mutating in-flight limit).
MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The parsed request. ``verb`` for a non-resource request is the lower-case method."""

    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()


def _truthy(query: Mapping[str, list[str]], key: str) -> bool:
    values = query.get(key)
    if not values:
        return False
    return values[-1].lower() in ("true", "1")


def parse_request_info(method: str, path: str, query: Mapping[str, list[str]]) -> RequestInfo:
    """Parse one request (``path`` without the query string)."""
    plain = RequestInfo(False, path, method.lower())
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 2 or parts[0] not in ("api", "apis"):
        return plain
    prefix = parts[0]
    if prefix == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) < 3:
            return plain
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return plain
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    if rest[0] == "watch":
        verb = "watch"
        rest = rest[1:]
        if not rest:
            return plain
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if _truthy(query, "watch") else "list"
    elif verb == "get" and _truthy(query, "watch"):
        verb = "watch"
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(
        True,
        path,
        verb,
        prefix,
        group,
        version,
        namespace,
        resource,
        subresource,
        name,
        tuple(rest[3:]),
    )

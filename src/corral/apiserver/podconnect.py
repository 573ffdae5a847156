"""``pods/log``, ``exec``, ``attach`` and ``portforward``: reaching the node that runs a pod.

Kubernetes' API server answers these by calling the pod's kubelet. Corral's
nodes are reached through a `NodeConnector`, a protocol defined here and
implemented elsewhere (``corral.node`` for simulated nodes, structurally:
the API server never imports the node layer). The CLI registers connectors
at start-up (`add_node_connector`); a request is sent to the first that
serves the pod's node.

What the API server itself decides, with Kubernetes' answers:

- the pod must exist (404) and be bound: ``pod x does not have a host
  assigned`` (400); its node must exist (404 ``nodes "n" not found``); a node
  no connector serves is a kubelet that cannot be reached (500 ``error
  dialing backend``);
- the container: omitted in a pod of several is 400 ``a container name must
  be specified for pod x, choose one of: [a b]``; unknown is 400 ``container
  c is not valid for pod x``;
- log options: booleans and integers must parse (400), ``tailLines`` ≥ 0,
  ``limitBytes`` and ``sinceSeconds`` > 0, not both ``sinceSeconds`` and
  ``sinceTime`` (422 ``PodLogOptions`` Invalid); ``sinceTime`` is RFC 3339;
- exec/attach need at least one of stdin, stdout, stderr (400).

Logs are ``text/plain``: buffered without ``follow``, streamed with it (the
stream ends when the connector's iterator does, or the client goes).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from corral.apiserver.asgi import AnyResponse, Response, StreamingResponse
from corral.apiserver.handlers.context import ServerParts, Verb
from corral.apiserver.handlers.io import query_one
from corral.apiserver.store import get_object
from corral.machinery.status import (
    BadRequest,
    FieldError,
    InternalError,
    Invalid,
    NotFound,
    NotFoundError,
)

CONNECT_SUBRESOURCES = frozenset({"log", "exec", "attach", "portforward"})
_KEY = "node-connectors"
_TEXT = b"text/plain"
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


class NodeConnector(Protocol):
    """A way to the nodes' container runtimes (a kubelet's API, in Kubernetes)."""

    def serves(self, node_name: str) -> bool:
        """Whether this connector reaches ``node_name``."""
        ...

    async def container_logs(
        self,
        pod: Mapping[str, Any],
        container: str,
        *,
        follow: bool = False,
        previous: bool = False,
        timestamps: bool = False,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
        since: float | None = None,
    ) -> AsyncIterator[bytes]:
        """The log's chunks; raises a `StatusError` (e.g. 400) before any when it cannot."""
        ...

    async def container_stream(
        self, pod: Mapping[str, Any], container: str, subresource: str
    ) -> None:
        """Open exec/attach/portforward (raises a `StatusError` when it cannot)."""
        ...


class NodeConnectors:
    """The registered connectors, asked in order."""

    def __init__(self) -> None:
        self._connectors: list[NodeConnector] = []

    def add(self, connector: NodeConnector) -> None:
        self._connectors.append(connector)

    def for_node(self, node_name: str) -> NodeConnector | None:
        return next((c for c in self._connectors if c.serves(node_name)), None)


def node_connectors(parts: ServerParts) -> NodeConnectors:
    found = parts.extra.get(_KEY)
    if not isinstance(found, NodeConnectors):
        found = NodeConnectors()
        parts.extra[_KEY] = found
    return found


def add_node_connector(parts: ServerParts, connector: NodeConnector) -> None:
    """Let requests for pods on the nodes ``connector`` serves reach it."""
    node_connectors(parts).add(connector)


# -- the handler -------------------------------------------------------------


async def connect(v: Verb) -> AnyResponse:
    """Serve one ``pods/<name>/{log,exec,attach,portforward}`` request."""
    if v.rt.group != "" or v.rt.resource != "pods":
        raise NotFoundError()
    pod = (await get_object(v.backend, v.rt, v.namespace, v.name)).obj
    if v.info.subresource == "log":
        return await _logs(v, pod)
    container = "" if v.info.subresource == "portforward" else _container(v, pod)
    if v.info.subresource in ("exec", "attach") and not any(
        _bool(v, key, False) for key in ("stdin", "stdout", "stderr")
    ):
        raise BadRequest("you must specify at least 1 of stdin, stdout, stderr")
    connector = await _connector(v, pod)
    await connector.container_stream(pod, container, v.info.subresource)
    raise InternalError(f"{v.info.subresource} is not supported by the pod's node")


async def _logs(v: Verb, pod: dict[str, Any]) -> AnyResponse:
    container = _container(v, pod)
    follow = _bool(v, "follow", False)
    previous = _bool(v, "previous", False)
    timestamps = _bool(v, "timestamps", False)
    tail_lines = _int(v, "tailLines")
    limit_bytes = _int(v, "limitBytes")
    since_seconds = _int(v, "sinceSeconds")
    since_time_text = query_one(v.request, "sinceTime")
    errors: list[FieldError] = []
    if tail_lines is not None and tail_lines < 0:
        errors.append(
            FieldError.invalid("tailLines", tail_lines, "must be greater than or equal to 0")
        )
    if limit_bytes is not None and limit_bytes < 1:
        errors.append(FieldError.invalid("limitBytes", limit_bytes, "must be greater than 0"))
    if since_seconds is not None and since_time_text:
        errors.append(
            FieldError.forbidden(
                "", "at most one of `sinceTime` or `sinceSeconds` may be specified"
            )
        )
    elif since_seconds is not None and since_seconds < 1:
        errors.append(FieldError.invalid("sinceSeconds", since_seconds, "must be greater than 0"))
    if errors:
        raise Invalid("PodLogOptions", v.name, errors)
    since: float | None = None
    if since_seconds is not None:
        since = time.time() - since_seconds
    elif since_time_text:
        since = _rfc3339(since_time_text)
    connector = await _connector(v, pod)
    chunks = await connector.container_logs(
        pod,
        container,
        follow=follow,
        previous=previous,
        timestamps=timestamps,
        tail_lines=tail_lines,
        limit_bytes=limit_bytes,
        since=since,
    )
    if follow:
        return StreamingResponse(200, chunks, content_type=_TEXT)
    body = b"".join([chunk async for chunk in chunks])
    return Response(200, body, content_type=_TEXT)


async def _connector(v: Verb, pod: Mapping[str, Any]) -> NodeConnector:
    name = str((pod.get("metadata") or {}).get("name", ""))
    node = str((pod.get("spec") or {}).get("nodeName") or "")
    if not node:
        raise BadRequest(f"pod {name} does not have a host assigned")
    connector = node_connectors(v.parts).for_node(node)
    if connector is not None:
        return connector
    nodes = v.parts.registry.lookup("", "v1", "nodes")
    if nodes is not None:
        try:
            await get_object(v.backend, nodes, "", node)
        except NotFound:
            raise NotFound("nodes", node) from None
    raise InternalError(f'error dialing backend: no node agent serves node "{node}"')


def _names(spec: Mapping[str, Any], field: str) -> list[str]:
    return [str(c.get("name", "")) for c in spec.get(field) or [] if isinstance(c, Mapping)]


def _container(v: Verb, pod: Mapping[str, Any]) -> str:
    spec = pod.get("spec") or {}
    name = str((pod.get("metadata") or {}).get("name", ""))
    containers = _names(spec, "containers")
    every = containers + _names(spec, "initContainers") + _names(spec, "ephemeralContainers")
    chosen = query_one(v.request, "container")
    if chosen:
        if chosen not in every:
            raise BadRequest(f"container {chosen} is not valid for pod {name}")
        return chosen
    if len(containers) == 1:
        return containers[0]
    if not containers:
        raise BadRequest(f"a container name must be specified for pod {name}")
    raise BadRequest(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(every)}]"
    )


def _bool(v: Verb, key: str, default: bool) -> bool:
    text = query_one(v.request, key)
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(
        f'invalid value for {key}: strconv.ParseBool: parsing "{text}": invalid syntax'
    )


def _int(v: Verb, key: str) -> int | None:
    text = query_one(v.request, key)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(
            f'invalid value for {key}: strconv.ParseInt: parsing "{text}": invalid syntax'
        ) from None


def _rfc3339(text: str) -> float:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f'invalid value for sinceTime: parsing time "{text}"') from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    stamp = value.timestamp()
    return math.floor(stamp)

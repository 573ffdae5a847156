"""Corral's async Kubernetes client: every verb, for any resource, on any cluster.

Controllers, the agent and the CLI talk to Kubernetes APIs (Corral's own or
a downstream cluster's) through this package. `Client` speaks the REST
semantics (paths, query options, ``Status`` errors, retries, resumable
watches); a `Transport` carries the bytes: `HTTPTransport` over HTTPS from
a kubeconfig or a pod's service account, and later an in-process loopback
transport living in ``corral.apiserver`` (DESIGN §2), which satisfies the
protocol structurally.

    async with Client.from_kubeconfig() as client:
        cms = ResourceRef("", "v1", "configmaps")
        await client.create(cms, {"metadata": {"name": "a"}, "data": {"k": "v"}})
        async with client.watch(cms, resource_version=rv) as events:
            async for type_, obj in events:
                ...

Errors: an API failure raises the `corral.machinery.status.StatusError`
subclass its ``Status`` names (``NotFound``, ``Conflict``, ``Expired``…);
anything else is a `ClientError`::

    ClientError                 base of the client's own failures
    ├── ConfigError             kubeconfig / in-cluster configuration unusable
    ├── TransportError          no (complete) answer from the server
    │   ├── ConnectionFailed    could not connect, or the connection dropped
    │   ├── RequestTimeout      the server did not answer in time
    │   └── TLSError            the TLS handshake failed (untrusted or wrong certificate)
    ├── DecodeError             an answer that is not the JSON it should be
    └── NoMatchError            discovery knows no resource for a kind/resource name

docs/client.md tells the rules (namespaces, retries, watch resumption).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corral.client.client import Client
from corral.client.config import ClusterConfig, kubeconfig_from_dict, load_kubeconfig
from corral.client.discovery import Discovery
from corral.client.errors import (
    ClientError,
    ConfigError,
    ConnectionFailed,
    DecodeError,
    NoMatchError,
    RequestTimeout,
    TLSError,
    TransportError,
)
from corral.client.incluster import in_cluster_config
from corral.client.options import PatchType, Preconditions, PropagationPolicy
from corral.client.resources import ResourceRef
from corral.client.retry import NO_RETRIES, RetryPolicy
from corral.client.transport import Response, SimpleResponse, StreamResponse, Transport
from corral.client.watch import Watch, WatchEvent

__all__ = [
    "NO_RETRIES",
    "Client",
    "ClientError",
    "ClusterConfig",
    "ConfigError",
    "ConnectionFailed",
    "DecodeError",
    "Discovery",
    "HTTPTransport",
    "NoMatchError",
    "PatchType",
    "Preconditions",
    "PropagationPolicy",
    "RequestTimeout",
    "ResourceRef",
    "Response",
    "RetryPolicy",
    "SimpleResponse",
    "StreamResponse",
    "TLSError",
    "Transport",
    "TransportError",
    "Watch",
    "WatchEvent",
    "in_cluster_config",
    "kubeconfig_from_dict",
    "load_kubeconfig",
]


if TYPE_CHECKING:
    from corral.client.httptransport import HTTPTransport


def __getattr__(name: str) -> Any:
    # HTTPTransport (and httpx with it) is imported on first use: the server
    # itself only talks to itself in process and should not pay for httpx.
    if name == "HTTPTransport":
        from corral.client.httptransport import HTTPTransport

        return HTTPTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

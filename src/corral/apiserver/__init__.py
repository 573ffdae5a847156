"""Corral's Kubernetes-compatible API server, as plain ASGI apps.

`APIServerApp` serves HTTPS: requests pass the filter pipeline
(authenticate → impersonate → authorize → handler, with admission in the
store; docs/rbac.md) and end in a route. `HTTPRedirectApp` serves the
plain-HTTP port: health probes and redirects. `HealthChecks` is the registry
of readiness checks other packages add to; `HTTPMetrics` counts requests and
serves ``/metrics``. `build_kube_api` builds the Kubernetes API (resource
registry, watch caches, verb handlers, discovery) from a started backend;
docs/apiserver.md tells how it works.

Errors: this package defines none of its own. A failed request is a
`corral.machinery.StatusError`, rendered as a Kubernetes ``Status``; any
other exception is a bug, logged and answered with a 500 ``Status``.
"""

from __future__ import annotations

from corral.apiserver.app import APIServerApp
from corral.apiserver.health import CheckFailed, HealthChecks, storage_check
from corral.apiserver.http_app import HTTPRedirectApp
from corral.apiserver.loopback import LoopbackAuthenticator, LoopbackTransport
from corral.apiserver.metrics import HTTPMetrics
from corral.apiserver.pipeline import PUBLIC_PATHS
from corral.apiserver.podconnect import NodeConnector, add_node_connector
from corral.apiserver.server import KubeAPIServer, build_kube_api

__all__ = [
    "PUBLIC_PATHS",
    "APIServerApp",
    "CheckFailed",
    "HTTPMetrics",
    "HTTPRedirectApp",
    "HealthChecks",
    "KubeAPIServer",
    "LoopbackAuthenticator",
    "LoopbackTransport",
    "NodeConnector",
    "add_node_connector",
    "build_kube_api",
    "storage_check",
]

"""Kubeconfigs for clusters: one context per cluster, through Corral's proxy (issue 9 part 7).

Decisions (Contract 3):

- Each cluster gets a ``clusters`` entry and a context, both named after
  its display name (unique among clusters), whose server is
  ``<server-url>/k8s/clusters/<id>`` with the Corral server's CA embedded:
  kubectl talks to Corral, which forwards as the user.
- One ``users`` entry, named after the Corral user, holds one fresh token
  of kind ``kubeconfig`` (its lifetime is the server's
  ``--kubeconfig-token-ttl``); every context uses it.
- The current context is the first cluster's.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class ClusterEntry:
    """A cluster as a kubeconfig names it."""

    id: str
    display_name: str


def cluster_server(server_url: str, cluster_id: str) -> str:
    return f"{server_url.rstrip('/')}/k8s/clusters/{cluster_id}"


def kubeconfig_document(
    server_url: str, ca_pem: str, username: str, token: str, clusters: Sequence[ClusterEntry]
) -> dict[str, Any]:
    ca_data = base64.b64encode(ca_pem.encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": c.display_name,
                "cluster": {
                    "server": cluster_server(server_url, c.id),
                    "certificate-authority-data": ca_data,
                },
            }
            for c in clusters
        ],
        "users": [{"name": username, "user": {"token": token}}],
        "contexts": [
            {"name": c.display_name, "context": {"cluster": c.display_name, "user": username}}
            for c in clusters
        ],
        "current-context": clusters[0].display_name if clusters else "",
        "preferences": {},
    }


def render_kubeconfig(
    server_url: str, ca_pem: str, username: str, token: str, clusters: Sequence[ClusterEntry]
) -> str:
    """The kubeconfig as YAML."""
    doc = kubeconfig_document(server_url, ca_pem, username, token, clusters)
    return yaml.safe_dump(doc, sort_keys=False)

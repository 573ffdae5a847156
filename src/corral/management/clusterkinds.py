"""The management.corral.io kinds of clusters: Cluster, ClusterRegistrationToken, Setting.

Decisions (issue 9, Contract 3; Rancher's model, DESIGN §6):

- All three are CustomResourceDefinitions of ``management.corral.io/v1``
  that the server installs at start when missing (`ensure_cluster_kinds`).
- ``Cluster`` is cluster-scoped; its ``metadata.name`` is its id: ``local``
  for the server itself, ``c-<5 lowercase alnum>`` for imported clusters
  (``generateName: c-``). ``spec`` holds what people say (``displayName``,
  required, 1..63 characters; ``description``; ``internal``); ``status`` is
  a subresource written by controllers only. Its printer columns are what
  ``kubectl get clusters`` shows: DISPLAY NAME, STATE, VERSION, NODES, AGE.
- ``ClusterRegistrationToken`` lives in the namespace named after its
  cluster; the one a Cluster gets is ``default-token``. The token itself is
  ``status.token`` (storage encrypts this resource at rest) and never a
  printer column.
- ``Setting`` is cluster-scoped with top-level ``value`` and ``default``, as
  in Rancher; the effective value is ``value`` when non-empty, else
  ``default`` (`setting_value`).

The schemas carry the checks a schema can express (types, required, lengths,
the shape of the id); what needs other objects (unique display names, the
reserved ``local``, the ``server-url`` format) is `corral.management.
clusteradmission`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, Final

from corral.client import Client, ResourceRef
from corral.machinery.status import AlreadyExists, Conflict, StatusError
from corral.management.kinds import CRDS, GROUP, VERSION

CLUSTERS = ResourceRef(GROUP, VERSION, "clusters", namespaced=False, kind="Cluster")
CLUSTER_REGISTRATION_TOKENS = ResourceRef(
    GROUP, VERSION, "clusterregistrationtokens", kind="ClusterRegistrationToken"
)
SETTINGS = ResourceRef(GROUP, VERSION, "settings", namespaced=False, kind="Setting")

#: The id (and namespace) of the cluster the server itself is.
LOCAL_CLUSTER: Final = "local"
#: The prefix imported clusters are created with (``generateName``).
CLUSTER_ID_PREFIX: Final = "c-"
#: Who created a Cluster; set by the server from the authenticated user.
CREATOR_ANNOTATION: Final = "corral.io/creator-id"
#: The registration token every Cluster gets, in the cluster's namespace.
DEFAULT_TOKEN: Final = "default-token"  # noqa: S105 (a name, not a secret)
#: Where the agent's registered credentials are kept (the `agent` branch writes it).
AGENT_SECRET: Final = "cluster-agent"  # noqa: S105 (a name, not a secret)
DISPLAY_NAME_MAX: Final = 63

_STRING: dict[str, Any] = {"type": "string"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_INT: dict[str, Any] = {"type": "integer"}
_RESOURCES: dict[str, Any] = {
    "type": "object",
    "properties": {"cpu": _STRING, "memory": _STRING, "pods": _STRING},
}


def _described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {**schema, "description": text}


_COMMANDS: dict[str, Any] = {
    "manifestUrl": _described(_STRING, "<server-url>/v3/import/<token>_<cluster>.yaml"),
    "command": _described(_STRING, "kubectl apply -f <manifestUrl>: run against the cluster"),
    "agentCommand": _described(
        _STRING, "corral agent --server … --token … --ca-checksum …: the agent as a process"
    ),
}

_CONDITION: dict[str, Any] = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": _STRING,
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": _STRING,
        "message": _STRING,
        "lastTransitionTime": _STRING,
        "lastUpdateTime": _STRING,
        "observedGeneration": _INT,
    },
}

CLUSTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "apiVersion": _STRING,
        "kind": _STRING,
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["displayName"],
            "properties": {
                "displayName": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": DISPLAY_NAME_MAX,
                    "description": "The cluster's name for people; unique among clusters.",
                },
                "description": _described(_STRING, "What the cluster is for."),
                "internal": _described(_BOOL, "True only for 'local', the Corral server itself."),
            },
        },
        "status": {
            "type": "object",
            "description": "Written by Corral's controllers (the status subresource).",
            # Per-cluster controllers add what they learn; nothing of it is pruned.
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "conditions": {"type": "array", "items": _CONDITION},
                "state": {
                    "type": "string",
                    "enum": ["pending", "active", "unavailable", "disconnected"],
                },
                "registration": {"type": "object", "properties": _COMMANDS},
                "agent": {
                    "type": "object",
                    "properties": {
                        "connected": _BOOL,
                        "lastConnected": _STRING,
                        "lastDisconnected": _STRING,
                        "replica": _STRING,
                    },
                },
                "apiEndpoint": _STRING,
                "version": {
                    "type": "object",
                    "properties": {"gitVersion": _STRING, "major": _STRING, "minor": _STRING},
                },
                "nodeCount": _INT,
                "capacity": _RESOURCES,
                "allocatable": _RESOURCES,
                "requested": _RESOURCES,
            },
        },
    },
}

TOKEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "apiVersion": _STRING,
        "kind": _STRING,
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["clusterName"],
            "properties": {
                "clusterName": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The id of the cluster this token imports (its namespace).",
                }
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "token": _described(_STRING, "The registration token (a secret)."),
                **_COMMANDS,
            },
        },
    },
}

SETTING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": _STRING,
        "kind": _STRING,
        "metadata": {"type": "object"},
        "value": _described(_STRING, "The value set; empty means the default."),
        "default": _described(_STRING, "The value used when value is empty."),
        "customized": _BOOL,
        "source": _STRING,
    },
}


def _crd(
    plural: str,
    kind: str,
    schema: dict[str, Any],
    columns: list[dict[str, Any]],
    *,
    namespaced: bool = False,
    status: bool = False,
) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": schema},
        "additionalPrinterColumns": [
            *columns,
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced" if namespaced else "Cluster",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [version],
        },
    }


CLUSTER_CRD = _crd(
    "clusters",
    "Cluster",
    CLUSTER_SCHEMA,
    [
        {"name": "Display Name", "type": "string", "jsonPath": ".spec.displayName"},
        {"name": "State", "type": "string", "jsonPath": ".status.state"},
        {"name": "Version", "type": "string", "jsonPath": ".status.version.gitVersion"},
        {"name": "Nodes", "type": "integer", "jsonPath": ".status.nodeCount"},
    ],
    status=True,
)
TOKEN_CRD = _crd(
    "clusterregistrationtokens",
    "ClusterRegistrationToken",
    TOKEN_SCHEMA,
    [{"name": "Cluster", "type": "string", "jsonPath": ".spec.clusterName"}],
    namespaced=True,
    status=True,
)
SETTING_CRD = _crd(
    "settings",
    "Setting",
    SETTING_SCHEMA,
    [{"name": "Value", "type": "string", "jsonPath": ".value"}],
)
CLUSTER_CRDS: Final = (CLUSTER_CRD, TOKEN_CRD, SETTING_CRD)


async def _ensure_crd(client: Client, crd: dict[str, Any]) -> None:
    try:
        await client.create(CRDS, crd)
        return
    except AlreadyExists:
        pass
    stored = await client.get(CRDS, crd["metadata"]["name"])
    if stored.get("spec") == crd["spec"]:
        return
    stored["spec"] = crd["spec"]
    with contextlib.suppress(Conflict):  # another replica updated it first
        await client.update(CRDS, stored)


def setting_value(setting: Mapping[str, Any] | None) -> str:
    """A Setting's effective value: ``value`` when set, else ``default`` ("" when absent)."""
    if not setting:
        return ""
    value = setting.get("value")
    if isinstance(value, str) and value:
        return value
    default = setting.get("default")
    return default if isinstance(default, str) else ""


def display_name(cluster: Mapping[str, Any]) -> str:
    spec = cluster.get("spec")
    name = spec.get("displayName") if isinstance(spec, Mapping) else None
    return name if isinstance(name, str) else ""


async def ensure_cluster_kinds(client: Client, *, wait_seconds: float = 10.0) -> None:
    """Create the three cluster CRDs when missing (update them when their spec
    changed, as after an upgrade); wait until they are served."""
    for crd in CLUSTER_CRDS:
        await _ensure_crd(client, crd)
    async with asyncio.timeout(wait_seconds):
        for ref in (CLUSTERS, CLUSTER_REGISTRATION_TOKENS, SETTINGS):
            while True:
                try:
                    await client.list(ref, limit=1)
                    break
                except StatusError as exc:
                    if exc.code != 404:
                        raise
                    await asyncio.sleep(0.05)

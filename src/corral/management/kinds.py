"""The management.corral.io kinds of identity: User and Token, served as CRDs.

Decisions (DESIGN §6, Rancher's model):

- Both are cluster-scoped CustomResourceDefinitions of group
  ``management.corral.io``, version ``v1``, which the server installs at
  start when missing (`ensure_kinds`), so kubectl reads and edits them like
  any other resource.
- Fields sit at the top level, as in Rancher's v3 kinds (no spec/status).
- A ``User``'s ``metadata.name`` is its username; its password hash is never
  on it (it lives in a Secret, `corral.management.passwords`).
- A ``Token`` carries only ``tokenHash``, the salted hash of its secret; its
  ``kind`` is ``session`` (a login), ``kubeconfig`` (written by ``corral
  login --kubeconfig``) or ``apikey`` (made by its user for scripts).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

from corral.client import Client, ResourceRef
from corral.machinery.status import AlreadyExists, NotFound, StatusError

GROUP: Final = "management.corral.io"
VERSION: Final = "v1"

USERS = ResourceRef(GROUP, VERSION, "users", namespaced=False, kind="User")
TOKENS = ResourceRef(GROUP, VERSION, "tokens", namespaced=False, kind="Token")
SECRETS = ResourceRef("", "v1", "secrets", kind="Secret")
NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, kind="Namespace")
CRDS = ResourceRef(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    namespaced=False,
    kind="CustomResourceDefinition",
)

TOKEN_KINDS: Final = ("session", "kubeconfig", "apikey")

_STRING = {"type": "string"}
_BOOL = {"type": "boolean"}

_USER_PROPERTIES: dict[str, Any] = {
    "apiVersion": _STRING,
    "kind": _STRING,
    "metadata": {"type": "object"},
    "username": _STRING,
    "displayName": _STRING,
    "description": _STRING,
    "principalIds": {"type": "array", "items": _STRING},
    "enabled": _BOOL,
    "mustChangePassword": _BOOL,
}

_TOKEN_PROPERTIES: dict[str, Any] = {
    "apiVersion": _STRING,
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
    "userId": _STRING,
    "authProvider": _STRING,
    "ttl": {"type": "integer", "minimum": 0},
    "expiresAt": _STRING,
    "lastUsedAt": _STRING,
    "description": _STRING,
    "current": _BOOL,
    "isDerived": _BOOL,
    "tokenKind": {"type": "string", "enum": list(TOKEN_KINDS)},
    "enabled": _BOOL,
    "tokenHash": _STRING,
}


def _crd(plural: str, kind: str, properties: dict[str, Any], columns: list[Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}},
                    "additionalPrinterColumns": columns,
                }
            ],
        },
    }


USER_CRD = _crd(
    "users",
    "User",
    _USER_PROPERTIES,
    [
        {"name": "Display Name", "type": "string", "jsonPath": ".displayName"},
        {"name": "Enabled", "type": "boolean", "jsonPath": ".enabled"},
    ],
)
TOKEN_CRD = _crd(
    "tokens",
    "Token",
    _TOKEN_PROPERTIES,
    [
        {"name": "User", "type": "string", "jsonPath": ".userId"},
        {"name": "Kind", "type": "string", "jsonPath": ".tokenKind"},
        {"name": "Expires", "type": "string", "jsonPath": ".expiresAt"},
    ],
)


async def ensure_kinds(client: Client, *, wait_seconds: float = 10.0) -> None:
    """Create the User and Token CRDs when missing and wait until both are served."""
    for crd in (USER_CRD, TOKEN_CRD):
        with contextlib.suppress(AlreadyExists):
            await client.create(CRDS, crd)
    async with asyncio.timeout(wait_seconds):
        for ref in (USERS, TOKENS):
            while True:
                try:
                    await client.list(ref, limit=1)
                    break
                except (NotFound, StatusError) as exc:
                    if isinstance(exc, StatusError) and exc.code != 404:
                        raise
                    await asyncio.sleep(0.05)

"""What the agent declares about its cluster: API address, CA, service-account token.

The server reaches the cluster's API through the tunnel *as the agent's
service account* (``corral-system/corral-agent``, with impersonation
rights), so the agent sends that account's token — a long-lived one from the
``kubernetes.io/service-account-token`` Secret ``corral-agent-token``, since
projected tokens expire — never the credentials it was started with.

- In a pod (no ``--kubeconfig``): the API is ``KUBERNETES_SERVICE_HOST`` /
  ``KUBERNETES_SERVICE_PORT``; token and CA come from the mounted token Secret
  (`TOKEN_DIR`, the import manifest mounts it there; `CORRAL_AGENT_TOKEN_DIR`
  overrides).
- With ``--kubeconfig`` (a plain process): the address is the kubeconfig's
  server; the agent itself makes what the import manifest would (namespace,
  service account, ClusterRole and binding, token Secret — the names are the
  manifest's), waits for the token controller to fill the Secret, and
  declares that token.

`Declaration.params` is the JSON the register request carries.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from corral.agent.errors import DeclarationError
from corral.client import Client, ClientError, ResourceRef, load_kubeconfig
from corral.machinery.status import AlreadyExists, StatusError

NAMESPACE: Final = "corral-system"
SERVICE_ACCOUNT: Final = "corral-agent"
CLUSTER_ROLE: Final = "corral-agent"
TOKEN_SECRET: Final = "corral-agent-token"  # noqa: S105 (a Secret's name)
TOKEN_DIR: Final = Path("/var/run/secrets/corral.io/agent-token")
TOKEN_WAIT: Final = 60.0

NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False)
SERVICE_ACCOUNTS = ResourceRef("", "v1", "serviceaccounts")
SECRETS = ResourceRef("", "v1", "secrets")
CLUSTER_ROLES = ResourceRef("rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False)
CLUSTER_ROLE_BINDINGS = ResourceRef(
    "rbac.authorization.k8s.io", "v1", "clusterrolebindings", namespaced=False
)


@dataclass(frozen=True, slots=True)
class Declaration:
    """The cluster as the agent declares it (``address`` as seen from inside the cluster)."""

    address: str
    ca_cert: str
    token: str

    def __repr__(self) -> str:  # never the token
        return f"Declaration(address={self.address!r})"

    @property
    def host_port(self) -> tuple[str, int]:
        """The (host, port) of ``address``: the only place the agent dials."""
        parts = urlsplit(self.address)
        host = parts.hostname or ""
        return host, parts.port or 443

    def params(self) -> str:
        """The base64 JSON of the ``X-Corral-Params`` header."""
        body = {"address": self.address, "caCert": self.ca_cert, "token": self.token}
        return base64.b64encode(orjson.dumps(body)).decode("ascii")


def agent_rules() -> list[dict[str, Any]]:
    """The agent's ClusterRole: what Corral does through it (as the import manifest grants)."""
    return [
        {"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]},
        {
            "apiGroups": [""],
            "resources": ["nodes", "pods", "events", "namespaces"],
            "verbs": ["get", "list", "watch"],
        },
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterrolebindings"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles"],
            "resourceNames": ["cluster-admin"],
            "verbs": ["bind"],
        },
    ]


def in_pod(environ: dict[str, str] | None = None) -> Declaration:
    """The declaration of an agent running in a pod of its cluster."""
    env = dict(os.environ) if environ is None else environ
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise DeclarationError(
            "not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset): pass --kubeconfig"
        )
    directory = Path(env.get("CORRAL_AGENT_TOKEN_DIR") or TOKEN_DIR)
    try:
        token = (directory / "token").read_text().strip()
        ca = (directory / "ca.crt").read_text()
    except OSError as exc:
        raise DeclarationError(
            f"cannot read the {TOKEN_SECRET} Secret mounted at {directory}: {exc.strerror or exc}"
        ) from None
    if not token:
        raise DeclarationError(f"the {TOKEN_SECRET} Secret at {directory} holds no token yet")
    address_host = f"[{host}]" if ":" in host else host
    return Declaration(f"https://{address_host}:{port}", ca, token)


async def from_kubeconfig(path: str, *, wait: float = TOKEN_WAIT) -> Declaration:
    """Set up the agent's service account with ``path``'s credentials, and declare its token."""
    try:
        config = load_kubeconfig(path)
    except ClientError as exc:
        raise DeclarationError(str(exc)) from None
    ca = config.ca_data or (config.ca_file.read_bytes() if config.ca_file else None)
    if not ca:
        raise DeclarationError(f"the kubeconfig {path} names no CA for its server")
    client = Client.from_config(config)
    try:
        await ensure_agent_account(client)
        token = await wait_for_token(client, wait)
    except (StatusError, ClientError) as exc:
        raise DeclarationError(f"cannot set up the agent's service account: {exc}") from None
    finally:
        await client.close()
    return Declaration(config.server, ca.decode("utf-8"), token)


async def ensure_agent_account(client: Client) -> None:
    """Create what the import manifest creates, keeping whatever already exists."""
    await _create(client, NAMESPACES, {"metadata": {"name": NAMESPACE}})
    meta = {"namespace": NAMESPACE}
    await _create(client, SERVICE_ACCOUNTS, {"metadata": {"name": SERVICE_ACCOUNT, **meta}})
    await _create(
        client, CLUSTER_ROLES, {"metadata": {"name": CLUSTER_ROLE}, "rules": agent_rules()}
    )
    binding = {
        "metadata": {"name": CLUSTER_ROLE},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": CLUSTER_ROLE,
        },
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}],
    }
    await _create(client, CLUSTER_ROLE_BINDINGS, binding)
    secret = {
        "metadata": {
            "name": TOKEN_SECRET,
            **meta,
            "annotations": {"kubernetes.io/service-account.name": SERVICE_ACCOUNT},
        },
        "type": "kubernetes.io/service-account-token",
    }
    await _create(client, SECRETS, secret)


async def wait_for_token(client: Client, wait: float) -> str:
    """The token the token controller wrote into the Secret (DeclarationError after ``wait``)."""
    deadline = time.monotonic() + wait
    while True:
        secret = await client.get(SECRETS, TOKEN_SECRET, namespace=NAMESPACE)
        encoded = (secret.get("data") or {}).get("token")
        if isinstance(encoded, str) and encoded:
            return base64.b64decode(encoded).decode("utf-8")
        if time.monotonic() >= deadline:
            raise DeclarationError(
                f"the token controller did not fill Secret {NAMESPACE}/{TOKEN_SECRET} "
                f"within {wait:.0f}s (is the cluster's controller manager running?)"
            )
        await asyncio.sleep(0.5)


async def _create(client: Client, resource: ResourceRef, body: dict[str, Any]) -> None:
    with contextlib.suppress(AlreadyExists):
        await client.create(resource, body)

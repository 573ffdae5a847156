"""`SecretAccessSource`: clusters reached directly with the credentials their agent registered.

The agent registers its cluster's API address, CA and service-account
token in the Secret ``cluster-agent`` of the cluster's namespace (keys
``address``, ``caCert``, ``token``; issue 9, contract 4). When that
address is reachable from the server — a hosted cluster with a public
API, or clusters on the same network — the proxy can connect to it
directly, without a tunnel: this source answers that access (no dialer).
The agent's tunnel-aware source replaces it where clusters sit behind NAT.

No Secret is `ClusterNotFound`; an incomplete one is `ClusterUnavailable`.
The answer is cached by the Secret's resourceVersion, so the proxy's pool
for the cluster lives as long as its credentials do.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from corral.apiserver.objectreader import CachedObjects
from corral.client.config import ClusterConfig
from corral.client.dialing import ClusterAccess, ClusterUnavailable
from corral.proxy.errors import ClusterNotFound

SECRET_NAME = "cluster-agent"  # noqa: S105 (the name of a Secret, not a secret)


def _decoded(data: Mapping[str, Any], key: str) -> str:
    try:
        return base64.b64decode(str(data.get(key) or ""), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


class SecretAccessSource:
    """An `AccessSource` reading each cluster's ``cluster-agent`` Secret; direct connections."""

    def __init__(self, objects: CachedObjects) -> None:
        self._objects = objects
        self._cache: dict[str, tuple[str, ClusterAccess]] = {}

    async def __call__(self, cluster: str) -> ClusterAccess:
        secret = await self._objects.current("secrets", cluster, SECRET_NAME)
        if secret is None:
            self._cache.pop(cluster, None)
            raise ClusterNotFound(f"cluster {cluster} is not registered")
        version = str((secret.get("metadata") or {}).get("resourceVersion", ""))
        cached = self._cache.get(cluster)
        if cached is not None and cached[0] == version:
            return cached[1]
        data = secret.get("data") or {}
        address, ca, token = (_decoded(data, k) for k in ("address", "caCert", "token"))
        if not address.startswith(("https://", "http://")) or not token:
            raise ClusterUnavailable(
                f"cluster {cluster}: its registered credentials are incomplete"
            )
        config = ClusterConfig(server=address, ca_data=ca.encode() or None, token=token)
        access = ClusterAccess(cluster, config)
        self._cache[cluster] = (version, access)
        return access

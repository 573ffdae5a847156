"""What an agent registered: its cluster's API address, CA and service-account token.

``/v3/connect/register`` carries them in ``X-Corral-Params`` (base64 JSON
``{"address", "caCert", "token"}``). `parse_params` checks them — an https
URL with a host and no path, a PEM certificate, a non-empty token — and
answers a 400 ``Status`` naming the field otherwise (never echoing the
value). `AgentCredentials` keeps them in the Secret ``cluster-agent`` (type
``corral.io/cluster-agent``, keys ``address``, ``caCert``, ``token``) in the
cluster's namespace, where storage encrypts them, and reads them back as the
`ClusterConfig` the proxy and the per-cluster controllers use. Reads are
cached for a few seconds per cluster (a proxied request must not cost a
Secret read), and a registration on this replica replaces the cached entry
at once.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from corral.client import Client, ClusterConfig, ResourceRef
from corral.client.dialing import ClusterUnavailable
from corral.machinery.status import AlreadyExists, BadRequest, NotFound
from corral.management.clusterkinds import AGENT_SECRET

SECRET_NAME: Final = AGENT_SECRET
SECRET_TYPE: Final = "corral.io/cluster-agent"  # noqa: S105 (a Secret type)
SECRETS = ResourceRef("", "v1", "secrets")
CACHE_SECONDS: Final = 10.0
MAX_PARAMS: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Registered:
    """The registered credentials of one cluster."""

    address: str
    ca_cert: str
    token: str

    def __repr__(self) -> str:  # never the token
        return f"Registered(address={self.address!r})"

    def config(self) -> ClusterConfig:
        return ClusterConfig(server=self.address, ca_data=self.ca_cert.encode(), token=self.token)


def _invalid(field: str, why: str) -> BadRequest:
    return BadRequest(f"X-Corral-Params: {field}: {why}")


def parse_params(header: str) -> Registered:
    """The credentials in an ``X-Corral-Params`` header; 400 naming the bad field."""
    if len(header) > MAX_PARAMS:
        raise _invalid("(header)", f"longer than {MAX_PARAMS} bytes")
    try:
        body = orjson.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise _invalid("(header)", "not base64 of a JSON object") from None
    if not isinstance(body, dict):
        raise _invalid("(header)", "not base64 of a JSON object")
    address, ca_cert, token = body.get("address"), body.get("caCert"), body.get("token")
    if not isinstance(address, str) or not address:
        raise _invalid("address", "required (https://host:port)")
    parts = urlsplit(address)
    if parts.scheme != "https" or not parts.hostname or parts.path.strip("/") or parts.query:
        raise _invalid("address", "must be an https URL with a host and no path")
    if parts.username or parts.password:
        raise _invalid("address", "must not carry credentials")
    try:
        parts.port  # noqa: B018 - a bad port raises
    except ValueError:
        raise _invalid("address", "has an invalid port") from None
    if not isinstance(ca_cert, str) or "-----BEGIN CERTIFICATE-----" not in ca_cert:
        raise _invalid("caCert", "required (the cluster's CA certificate, PEM)")
    if not isinstance(token, str) or not token.strip():
        raise _invalid("token", "required (the agent's service-account token)")
    return Registered(address.rstrip("/"), ca_cert, token.strip())


def _secret(cluster: str, registered: Registered) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET_NAME, "namespace": cluster},
        "type": SECRET_TYPE,
        "stringData": {
            "address": registered.address,
            "caCert": registered.ca_cert,
            "token": registered.token,
        },
    }


class AgentCredentials:
    """The ``cluster-agent`` Secrets, with a short read cache."""

    def __init__(self, client: Client, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._client = client
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Registered]] = {}

    async def store(self, cluster: str, registered: Registered) -> None:
        """Create or replace the cluster's Secret."""
        body = _secret(cluster, registered)
        try:
            await self._client.create(SECRETS, body, namespace=cluster)
        except AlreadyExists:
            current = await self._client.get(SECRETS, SECRET_NAME, namespace=cluster)
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            await self._client.update(SECRETS, body, namespace=cluster)
        self._cache[cluster] = (time.monotonic(), registered)

    async def read(self, cluster: str) -> Registered:
        """The cluster's credentials; ClusterUnavailable when it never registered."""
        cached = self._cache.get(cluster)
        if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        try:
            secret = await self._client.get(SECRETS, SECRET_NAME, namespace=cluster)
        except NotFound:
            self._cache.pop(cluster, None)
            raise ClusterUnavailable(f"cluster {cluster}: no agent has registered") from None
        data = secret.get("data") or {}
        try:
            values = {k: base64.b64decode(data[k]).decode() for k in ("address", "caCert", "token")}
        except (KeyError, binascii.Error, UnicodeDecodeError):
            raise ClusterUnavailable(
                f"cluster {cluster}: its agent credentials are damaged"
            ) from None
        registered = Registered(values["address"], values["caCert"], values["token"])
        self._cache[cluster] = (time.monotonic(), registered)
        return registered

    async def exists(self, cluster: str) -> bool:
        """True when the cluster has registered credentials."""
        try:
            await self.read(cluster)
        except ClusterUnavailable:
            return False
        return True

    def forget(self, cluster: str) -> None:
        self._cache.pop(cluster, None)

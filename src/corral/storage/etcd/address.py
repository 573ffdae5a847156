"""Parsing an ``etcd://`` datastore URL into endpoints and a key root.

Decides the accepted form: ``etcd://host:port[,host:port...][/root]``. The
port defaults to 2379; the root (every key Corral writes starts with it)
defaults to ``/corral`` and must not be a prefix of another application's keys.
Credentials in the URL are refused rather than half-supported, and errors never
echo the URL (it could carry a password).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote

from corral.storage.errors import DatastoreURLError

DEFAULT_PORT = 2379
DEFAULT_ROOT = "/corral"
FORM = "etcd://host:port[,host:port...][/root]"

_HOST = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")


@dataclass(frozen=True, slots=True)
class EtcdAddress:
    """Where the cluster is and which key root is Corral's."""

    endpoints: tuple[tuple[str, int], ...]
    root: str = DEFAULT_ROOT

    def grpc_target(self) -> str:
        """One gRPC target for every endpoint (a list when they are all IP literals)."""
        hosts = [host.strip("[]") for host, _ in self.endpoints]
        if len(self.endpoints) > 1 and all(_is_ip(h) for h in hosts):
            scheme = "ipv6" if any(":" in h for h in hosts) else "ipv4"
            joined = ",".join(
                f"[{h}]:{port}" if ":" in h else f"{h}:{port}"
                for h, (_, port) in zip(hosts, self.endpoints, strict=True)
            )
            return f"{scheme}:{joined}"
        host, port = self.endpoints[0]
        return f"{host}:{port}"

    def describe(self) -> str:
        """The endpoints, for messages (never credentials: the URL has none)."""
        return ",".join(f"{host}:{port}" for host, port in self.endpoints)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_etcd_url(address: str) -> EtcdAddress:
    """The part of an ``etcd://`` URL after ``://``, parsed; `DatastoreURLError` if malformed."""
    if "?" in address or "#" in address:
        raise DatastoreURLError("an etcd:// datastore URL takes no query or fragment")
    hosts, slash, root = address.partition("/")
    if "@" in hosts:
        raise DatastoreURLError(
            "etcd:// datastore URLs with credentials are not supported; "
            "use an etcd reachable without authentication"
        )
    if not hosts:
        raise DatastoreURLError(f"an etcd:// datastore URL needs a host; expected {FORM}")
    endpoints: list[tuple[str, int]] = []
    for part in hosts.split(","):
        host, port = _endpoint(part)
        endpoints.append((host, port))
    root = unquote(root).rstrip("/")
    return EtcdAddress(tuple(endpoints), "/" + root if slash and root else DEFAULT_ROOT)


def _endpoint(part: str) -> tuple[str, int]:
    if part.startswith("["):
        host, _, rest = part.partition("]")
        host += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise DatastoreURLError(f"malformed etcd endpoint; expected {FORM}")
    else:
        host, _, port_text = part.partition(":")
    if not _HOST.fullmatch(host):
        raise DatastoreURLError(f"malformed etcd endpoint host; expected {FORM}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DatastoreURLError(f"an etcd endpoint port must be 1-65535; expected {FORM}")
    return host, int(port_text)

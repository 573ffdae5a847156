"""Where simulated nodes and their pods live on the (pretend) network.

Node ``i`` gets InternalIP ``198.18.0.0 + i + 1`` — 198.18.0.0/15 is reserved
for benchmarking (RFC 2544), so it can never collide with a real address —
and the pod CIDR ``10.42.<i>.0/24`` (``10.<42 + i // 256>.<i % 256>.0/24``
past 256 nodes), as a CNI would hand out per-node ranges. Pod IPs are the
lowest free host address from ``.2`` (``.1`` is the bridge), released when
the pod goes; a restarted node adopts the IPs its pods already report.
"""

from __future__ import annotations

import ipaddress

_NODE_BASE = ipaddress.IPv4Address("198.18.0.0")


def node_ip(index: int) -> str:
    return str(_NODE_BASE + index + 1)


def pod_cidr(index: int) -> str:
    return f"10.{42 + index // 256}.{index % 256}.0/24"


class PodIPs:
    """The pod addresses of one node, by pod uid."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.IPv4Network(cidr)
        self._by_uid: dict[str, str] = {}
        self._used: set[str] = set()
        self._hosts = [str(h) for h in list(self.network.hosts())[1:]]

    def allocate(self, uid: str) -> str | None:
        """The pod's address (the same on every call); None when the range is full."""
        found = self._by_uid.get(uid)
        if found is not None:
            return found
        for host in self._hosts:
            if host not in self._used:
                return self.adopt(uid, host)
        return None

    def adopt(self, uid: str, ip: str) -> str:
        """Keep ``ip`` for ``uid`` (a pod reported it before a restart)."""
        self._by_uid[uid] = ip
        self._used.add(ip)
        return ip

    def owns(self, ip: str) -> bool:
        try:
            return ipaddress.IPv4Address(ip) in self.network and ip not in self._used
        except ValueError:
            return False

    def release(self, uid: str) -> None:
        ip = self._by_uid.pop(uid, None)
        if ip is not None:
            self._used.discard(ip)

    def __len__(self) -> int:
        return len(self._by_uid)

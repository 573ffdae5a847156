"""How to reach a cluster's API server when plain TCP from here cannot.

An imported cluster usually sits behind NAT: its API is reached through
the agent's tunnel (`corral.tunnel`), not by connecting to its address.
This module is the meeting point between what dials (a tunnel session, a
peer replica holding that session) and what speaks HTTP over the result
(the client's HTTP transport, the cluster proxy, the per-cluster
controllers), so neither side imports the other (DESIGN §2):

- `Dialer`: opens one byte stream to ``host:port`` *as seen from the
  cluster*; TLS is then negotiated end to end over that stream, so the
  tunnel only ever carries ciphertext to the downstream API.
- `ClusterAccess`: what it takes to talk to one cluster's API — the
  `ClusterConfig` (address, CA, the agent's service-account token) and the
  `Dialer` to use, or None to connect directly.
- `ClusterUnavailable`: the cluster cannot be reached now (no agent
  connected, credentials not registered yet); the message says why and
  holds no secret.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio.abc

from corral.client.config import ClusterConfig
from corral.client.errors import ClientError


class ClusterUnavailable(ClientError):
    """No way to reach the cluster's API right now (for example, its agent is not connected)."""


class Dialer(Protocol):
    """Opens byte streams to addresses as seen from inside one cluster."""

    async def dial(self, host: str, port: int) -> anyio.abc.ByteStream:
        """A connected stream to ``host:port``; raises `ClusterUnavailable` when refused."""
        ...


@dataclass(frozen=True, slots=True)
class ClusterAccess:
    """How to reach one cluster's API: its config, and a dialer unless it is reached directly."""

    cluster: str
    config: ClusterConfig
    dialer: Dialer | None = None


#: Answers the current access to a cluster by id; raises `ClusterUnavailable`.
AccessSource = Callable[[str], Awaitable[ClusterAccess]]

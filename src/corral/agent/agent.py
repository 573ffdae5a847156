"""`run_agent`: the whole agent, from the checksum to the tunnel (docs/agent.md).

`AgentOptions` is what ``corral agent`` parses (flags or ``CORRAL_*``
environment). The order is the security argument: the CA is checked and
pinned before the cluster is even looked at, and the token leaves only over
a connection that pinned CA verified.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from corral.agent.backoff import Backoff
from corral.agent.connection import AgentConnection
from corral.agent.declaration import Declaration, from_kubeconfig, in_pod
from corral.agent.pinning import fetch_pinned_ca, pinned_context


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """The agent's settings."""

    server_url: str
    token: str = field(repr=False)
    ca_checksum: str
    kubeconfig: str | None = None
    #: Multiplies every reconnect delay (tests pass a small one).
    backoff_scale: float = 1.0


async def declare(options: AgentOptions) -> Declaration:
    """What the agent declares: from the kubeconfig's cluster, or from the pod."""
    if options.kubeconfig:
        return await from_kubeconfig(options.kubeconfig)
    return in_pod()


async def run_agent(options: AgentOptions, stop: asyncio.Event | None = None) -> None:
    """Pin the CA, declare the cluster, keep the tunnel open until ``stop`` is set."""
    ca_pem = await fetch_pinned_ca(options.server_url, options.ca_checksum)
    context = pinned_context(ca_pem)
    declaration = await declare(options)
    connection = AgentConnection(
        options.server_url,
        options.token,
        declaration,
        context,
        Backoff.scaled(options.backoff_scale),
        stop=stop or asyncio.Event(),
    )
    await connection.run()

"""What every built-in controller is given: a client, shared informers, options, a clock.

Controllers in `corral.kube` are built by a function ``build(ctx) ->
list[Runnable]`` (one per module, listed in `corral.kube.manager`). They
talk to the API only through ``ctx.client`` (the in-process loopback client
inside ``corral server``; an HTTP client works the same in tests), share
watches through ``ctx.informers``, read tunables from ``ctx.options`` and
time from ``ctx.clock`` (a `FakeClock` in tests). The manager starts the
informers, waits for them to list, then runs every `Runnable`; it stops
them all when leadership is lost or the server shuts down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from corral.client import Client
from corral.controller import Clock, RealClock, SharedInformers
from corral.machinery.satoken import TokenIssuer


def utc_now() -> datetime:
    """The real wall clock (`KubeContext.now` by default)."""
    return datetime.now(UTC)


class Runnable(Protocol):
    """A long-running part (a `corral.controller.Controller` is one)."""

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class KubeOptions:
    """Tunables of the built-in controllers (Kubernetes' defaults; tests shorten them)."""

    workers: int = 2
    """Workers per controller."""
    node_monitor_period: float = 5.0
    """How often node lifecycle checks heartbeats."""
    node_monitor_grace_period: float = 40.0
    """A node whose heartbeat is older than this is marked not ready (unknown)."""
    ca_pem: bytes = b""
    """The cluster CA, published in every namespace as ConfigMap ``kube-root-ca.crt``."""
    job_backoff: float = 10.0
    """A Job's first back-off after a failed pod (doubling per failure)."""
    job_backoff_max: float = 360.0
    """The longest back-off between a Job's pod failures."""
    token_issuer: TokenIssuer | None = None
    """Signs the tokens of service-account-token Secrets (`corral.kube.tokens`)."""


@dataclass(slots=True)
class KubeContext:
    client: Client
    informers: SharedInformers
    options: KubeOptions = field(default_factory=KubeOptions)
    clock: Clock = field(default_factory=RealClock)
    now: Callable[[], datetime] = utc_now
    """Wall-clock time (UTC) for timestamps and schedules; tests drive it with the clock."""

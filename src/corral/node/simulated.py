"""Placeholder: simulated nodes are being written (registers nothing yet)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from corral.client import Client


@dataclass(frozen=True, slots=True)
class SimulatedNodeOptions:
    """How simulated nodes behave."""


class SimulatedNodes:
    """``count`` simulated nodes; ``client_for(user)`` gives a client acting as ``user``."""

    def __init__(
        self,
        client_for: Callable[[str], Client],
        count: int,
        options: SimulatedNodeOptions | None = None,
    ) -> None:
        self.client_for = client_for
        self.count = count
        self.options = options or SimulatedNodeOptions()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

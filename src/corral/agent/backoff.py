"""How long the agent waits before dialing again: jittered exponential backoff.

Each failed attempt doubles the base delay (from ``initial`` up to ``cap``);
the wait is drawn uniformly from half the base to the whole of it ("equal
jitter"), so a server restart does not see every agent come back in the same
instant. A session that stayed up resets it. A refusal of the token (401:
the cluster was deleted, the token revoked) waits ``slow`` — it will not
fix itself soon, and a tight loop would only fill the server's log.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

INITIAL: Final = 1.0
CAP: Final = 30.0
SLOW: Final = 60.0


@dataclass(slots=True)
class Backoff:
    """The delays between dial attempts."""

    initial: float = INITIAL
    cap: float = CAP
    slow: float = SLOW
    _base: float = field(default=0.0, init=False)
    _random: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def next(self) -> float:
        """The wait after one more failure."""
        self._base = self.initial if self._base == 0.0 else min(self.cap, self._base * 2)
        return self._base / 2 + self._random.uniform(0.0, self._base / 2)

    def refused(self) -> float:
        """The wait after the server refused the token (never below the regular cap)."""
        self._base = self.cap
        return max(self.slow, self.cap) * self._random.uniform(0.75, 1.0)

    def reset(self) -> None:
        """A session was established: the next failure starts from ``initial`` again."""
        self._base = 0.0

    @classmethod
    def scaled(cls, factor: float) -> Backoff:
        """All delays multiplied by ``factor`` (tests use a small one)."""
        return cls(INITIAL * factor, CAP * factor, SLOW * factor)

"""The controller runtime's errors, one tree so callers catch by meaning.

The tree is drawn in the package docstring (`corral.controller`). Queue errors
are raised by `WorkQueue`; `ConditionError` by the condition helpers when an
argument or the object itself cannot carry a Kubernetes condition.
"""

from __future__ import annotations


class ControllerError(Exception):
    """Base of every error the controller runtime raises."""


class QueueShutDown(ControllerError):
    """`WorkQueue.get` on a queue that is shut down and has nothing left to hand out."""


class QueueFullError(ControllerError):
    """A new key was offered to a queue already holding its maximum of distinct keys."""

    def __init__(self, queue: str, limit: int, what: str = "queued") -> None:
        super().__init__(
            f"work queue {queue or '(unnamed)'!s}: {what} keys at the limit of {limit}"
        )
        self.queue = queue
        self.limit = limit


class ConditionError(ControllerError, ValueError):
    """A condition argument is malformed, or the object cannot hold conditions."""

"""Admission: the contract between the API server's write path and its plugins.

Kubernetes runs admission plugins on every write after the object has been
decoded, defaulted and validated and before it is stored: mutating plugins
may change it (LimitRange defaults, a Service's cluster IP), validating ones
may refuse it with a ``Status`` (ResourceQuota: 403 Forbidden). Some
plugins take something for the object while they admit it — quota usage, a
cluster IP, a node port — that must be given back if the write does not
happen after all (a lost compare-and-swap, ``AlreadyExists``, a later
plugin refusing). So `Admission.admit` answers an `Admitted`: the store
calls ``abort()`` when the write failed and ``commit()`` when it happened
(release what the old object held: an update that dropped a node port).
``released`` is called after an object is deleted, to return what it held.

This module is the meeting point (DESIGN §2): ``corral.apiserver`` calls an
`Admission` and implements the built-in plugins; the values exchanged are
plain data defined here. A plugin that refuses raises a
`corral.machinery.status.StatusError`; with ``dry_run`` a plugin checks
everything and takes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Step = Callable[[], Awaitable[None]]


class Operation(StrEnum):
    """What the request does to the object (Kubernetes' ``admission.Operation``)."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@dataclass(slots=True)
class Attributes:
    """One write, as admission sees it.

    ``obj`` is the object about to be stored (plugins may change it in
    place); ``old`` the stored object an update or delete starts from.
    """

    operation: Operation
    group: str
    version: str
    resource: str
    kind: str
    namespace: str
    name: str
    obj: Obj | None = None
    old: Obj | None = None
    subresource: str = ""
    dry_run: bool = False


@dataclass(slots=True)
class Admitted:
    """What an admitted write must do afterwards: undo on failure, finish on success.

    Steps run in reverse order on abort (last taken, first given back) and
    in order on commit. A failing step is logged and does not stop the
    others: the repair loops of the plugins reconcile what is left over.
    """

    on_abort: list[Step] = field(default_factory=list)
    on_commit: list[Step] = field(default_factory=list)

    def extend(self, other: Admitted) -> None:
        self.on_abort.extend(other.on_abort)
        self.on_commit.extend(other.on_commit)

    async def abort(self) -> None:
        steps, self.on_abort, self.on_commit = self.on_abort, [], []
        for step in reversed(steps):
            await _run(step, "abort")

    async def commit(self) -> None:
        steps, self.on_abort, self.on_commit = self.on_commit, [], []
        for step in steps:
            await _run(step, "commit")


async def _run(step: Step, what: str) -> None:
    try:
        await step()
    except Exception:
        log.exception("admission %s step failed", what)


class Admission(Protocol):
    """An admission plugin, or a chain of them."""

    async def admit(self, attrs: Attributes) -> Admitted:
        """Check (and possibly change) ``attrs.obj``; raise a ``StatusError`` to refuse."""
        ...

    async def released(self, attrs: Attributes) -> None:
        """``attrs.old`` has been deleted: give back what it held."""
        ...


class AdmissionChain:
    """Plugins in order; a refusal aborts what the earlier plugins took."""

    def __init__(self, *plugins: Admission) -> None:
        self.plugins = plugins

    async def admit(self, attrs: Attributes) -> Admitted:
        done = Admitted()
        for plugin in self.plugins:
            try:
                done.extend(await plugin.admit(attrs))
            except BaseException:
                await done.abort()
                raise
        return done

    async def released(self, attrs: Attributes) -> None:
        for plugin in self.plugins:
            try:
                await plugin.released(attrs)
            except Exception:
                log.exception("admission release failed")

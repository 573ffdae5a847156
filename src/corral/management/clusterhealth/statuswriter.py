"""`StatusWriter`: one compare-and-swap write of a Cluster's status, only when it changed.

Several writers share a Cluster's status: the agent's connection handler
owns ``Connected`` and ``agent``, these controllers own ``Ready`` and the
figures. ``conditions`` is a list, which a merge patch replaces whole, so a
blind patch could put back a ``Connected`` the agent just changed. Every
write therefore names the ``resourceVersion`` it was computed from (a
precondition: 409 if stale); on a conflict the Cluster is read again and
the edit recomputed. Only the status keys that differ are sent, through the
``/status`` subresource.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from corral.client import Client
from corral.machinery.jsoncopy import json_copy
from corral.machinery.status import Conflict, NotFound
from corral.management.clusterhealth.kinds import CLUSTERS
from corral.management.clusterhealth.status import merge_diff

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5

Obj = dict[str, Any]
Edit = Callable[[Obj], bool]
Lookup = Callable[[str], Obj | None]


class StatusWriter:
    """Writes Cluster status edits through ``client``; ``cached`` answers the informer's copy."""

    def __init__(self, client: Client, cached: Lookup) -> None:
        self.client = client
        self.cached = cached
        self.writes = 0

    async def write(self, name: str, edit: Edit) -> bool:
        """Apply ``edit`` to the Cluster's status; True when a write was made."""
        current = self.cached(name)
        if current is None:
            return False
        for _ in range(MAX_ATTEMPTS):
            wanted = json_copy(current)
            if not edit(wanted):
                return False
            diff = merge_diff(current.get("status") or {}, wanted.get("status") or {})
            version = (current.get("metadata") or {}).get("resourceVersion")
            patch = {"metadata": {"resourceVersion": version}, "status": diff}
            try:
                await self.client.patch(CLUSTERS, name, patch, subresource="status")
            except Conflict:
                try:
                    current = await self.client.get(CLUSTERS, name)
                except NotFound:
                    return False
                continue
            except NotFound:
                return False
            self.writes += 1
            return True
        log.warning("cluster %s: status not written (too many conflicts)", name)
        return False

"""`EventMirror`: a cluster's recent Warning events, copied into its management namespace.

``kubectl get events -n c-xxxxx`` on the management server (and the
console) shows what goes wrong in an imported cluster without reaching it.

Decisions:

- Only ``type=Warning`` events are offered (the informer's field selector).
- One mirror per downstream event, named ``<cluster>.<downstream uid>``, so
  a repeat of the same downstream event (its ``count`` grows) updates the
  mirror instead of adding one: deduplicated by uid, even across restarts.
- Bounded: at most ``limit`` (default 50) mirrors per cluster; a newer
  event evicts the oldest (by ``lastTimestamp``). At start the existing
  mirrors are read back (label ``corral.io/cluster-event=<cluster>``).
- Writes are batched: `offer` (an informer handler) only records the
  event; `flush`, called by the cluster's writer at its rate limit, writes
  the newest pending ones. A burst of events costs at most ``limit`` writes
  per flush.
- The mirror's ``involvedObject`` is the Cluster; its reason and type are
  the downstream's; its message names the downstream object. Mirrors are
  ordinary Events: they expire with the server's event TTL.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from corral.client import Client
from corral.machinery.status import AlreadyExists, NotFound
from corral.management.clusterhealth.kinds import EVENTS, GROUP

log = logging.getLogger(__name__)

SOURCE_LABEL = "corral.io/cluster-event"
SOURCE_UID = "corral.io/source-uid"
COMPONENT = "corral-cluster-health"
DEFAULT_LIMIT = 50

Obj = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(event: Mapping[str, Any]) -> str:
    """The event's latest time as sortable text (RFC 3339 in UTC sorts as text)."""
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        value = event.get(key)
        if isinstance(value, str) and value:
            return value
    created = (event.get("metadata") or {}).get("creationTimestamp")
    return created if isinstance(created, str) else ""


def _about(event: Mapping[str, Any]) -> str:
    ref = event.get("involvedObject") or {}
    kind, ns, name = ref.get("kind") or "", ref.get("namespace") or "", ref.get("name") or ""
    where = f"{ns}/{name}" if ns else name
    return f"{kind} {where}".strip()


class EventMirror:
    """Mirrors one cluster's Warning events into its namespace on the management server."""

    def __init__(
        self, client: Client, cluster: Mapping[str, Any], *, limit: int = DEFAULT_LIMIT
    ) -> None:
        meta = cluster.get("metadata") or {}
        self.client = client
        self.cluster = str(meta.get("name") or "")
        self.namespace = self.cluster
        self.limit = limit
        self._ref = {
            "apiVersion": f"{GROUP}/v1",
            "kind": "Cluster",
            "name": self.cluster,
            "uid": str(meta.get("uid") or ""),
        }
        self._pending: dict[str, Obj] = {}
        #: Mirrored so far: downstream uid -> (mirror name, lastTimestamp, count).
        self._mirrored: dict[str, tuple[str, str, int]] = {}

    def offer(self, event: Mapping[str, Any]) -> None:
        """Note a downstream Warning event (added or updated); `flush` writes it."""
        uid = (event.get("metadata") or {}).get("uid")
        if isinstance(uid, str) and uid and event.get("type") == "Warning":
            self._pending[uid] = dict(event)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def load(self) -> None:
        """Read back the mirrors already written (after a restart)."""
        page = await self.client.list(
            EVENTS, namespace=self.namespace, label_selector=f"{SOURCE_LABEL}={self.cluster}"
        )
        for item in page.get("items") or []:
            meta = item.get("metadata") or {}
            uid = (meta.get("annotations") or {}).get(SOURCE_UID)
            if isinstance(uid, str) and uid:
                self._mirrored[uid] = (
                    str(meta.get("name")),
                    _when(item),
                    int(item.get("count") or 1),
                )

    async def flush(self) -> None:
        """Write the newest pending events, evicting the oldest mirrors beyond the limit."""
        if not self._pending:
            return
        batch = sorted(self._pending.values(), key=_when, reverse=True)[: self.limit]
        self._pending.clear()
        for done, event in enumerate(batch):
            try:
                await self._write(event)
            except Exception:
                for rest in batch[done:]:  # offered again at the next flush
                    self._pending.setdefault(str(rest["metadata"]["uid"]), rest)
                raise
        await self._evict()

    async def _write(self, event: Obj) -> None:
        uid = str(event["metadata"]["uid"])
        when, count = _when(event) or _now(), int(event.get("count") or 1)
        known = self._mirrored.get(uid)
        if known is not None and known[1:] == (when, count):
            return
        oldest = min((m[1] for m in self._mirrored.values()), default="")
        if known is None and len(self._mirrored) >= self.limit and when < oldest:
            return  # older than everything kept: it would be evicted at once
        name = f"{self.cluster}.{uid}"
        patch = {"count": count, "lastTimestamp": when, "message": self._message(event)}
        if known is not None:
            try:
                await self.client.patch(EVENTS, name, patch, namespace=self.namespace)
                self._mirrored[uid] = (name, when, count)
                return
            except NotFound:
                pass  # expired meanwhile: write it again
        body = self._mirror(event, name, when, count)
        try:
            await self.client.create(EVENTS, body, namespace=self.namespace)
        except AlreadyExists:
            await self.client.patch(EVENTS, name, patch, namespace=self.namespace)
        self._mirrored[uid] = (name, when, count)

    def _message(self, event: Mapping[str, Any]) -> str:
        return f"{_about(event)}: {event.get('message') or ''}"

    def _mirror(self, event: Mapping[str, Any], name: str, when: str, count: int) -> Obj:
        first = event.get("firstTimestamp") or event.get("eventTime") or when
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {SOURCE_LABEL: self.cluster},
                "annotations": {SOURCE_UID: event["metadata"]["uid"]},
            },
            "involvedObject": self._ref,
            "reason": str(event.get("reason") or "Unknown"),
            "message": self._message(event),
            "type": "Warning",
            "count": count,
            "firstTimestamp": first if isinstance(first, str) else when,
            "lastTimestamp": when,
            "source": {"component": COMPONENT, "host": self.cluster},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.cluster,
        }

    async def _evict(self) -> None:
        if len(self._mirrored) <= self.limit:
            return
        ordered = sorted(self._mirrored.items(), key=lambda item: item[1][1])
        for uid, (name, _, _) in ordered[: len(self._mirrored) - self.limit]:
            with contextlib.suppress(NotFound):
                await self.client.delete(EVENTS, name, namespace=self.namespace)
            del self._mirrored[uid]

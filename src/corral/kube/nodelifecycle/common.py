"""Small pieces the node lifecycle controllers share: the pods-by-node index, times.

Health monitoring, taint eviction and pod GC all ask "which pods are on this
node?" of the shared pod informer; one index answers it for all of them.
Taints carry ``timeAdded`` and leases ``renewTime`` as RFC 3339 strings,
read here into aware datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from corral.controller import Informer

NODE_INDEX = "corral.kube/nodeName"

Obj = dict[str, Any]


def _node_of(pod: Obj) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if isinstance(node, str) and node else []


def ensure_node_index(pods: Informer) -> None:
    """Index the shared pod informer by ``spec.nodeName`` (once)."""
    with suppress(ValueError):  # already added by another part of node lifecycle
        pods.add_indexer(NODE_INDEX, _node_of)


def pods_on(pods: Informer, node: str) -> list[Obj]:
    return pods.by_index(NODE_INDEX, node)


def wall_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time (``Z`` or an offset, optional fraction), or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def pod_name(pod: Mapping[str, Any]) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("namespace") or "default"), str(meta.get("name") or "")


def condition_status(node: Mapping[str, Any], type_: str) -> str:
    """``True``/``False``/``Unknown`` of a condition; ``Unknown`` when absent."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == type_:
            return str(condition.get("status") or "Unknown")
    return "Unknown"

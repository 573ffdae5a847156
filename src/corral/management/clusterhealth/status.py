"""What a Cluster's status should say, from what was observed of its API.

The per-cluster watch keeps an `Observation`; this module turns it into
status fields (`observe`) or marks a cluster whose agent is away
(`mark_disconnected`), editing a copy of the Cluster in place and saying
whether anything changed, so a write happens only when something did.

Decisions (Contract 3 field names, Rancher's meanings):

- ``Ready``: True ``APIReady`` when the downstream ``/readyz`` answered
  ``ok``; False ``APIUnavailable`` with the error otherwise; False
  ``Disconnected`` when ``Connected`` is not True. Before the first probe
  nothing is claimed.
- ``state``: ``active`` (Ready), ``unavailable`` (connected, API failing),
  ``disconnected`` (the agent was connected once and is gone), ``pending``
  (never connected).
- ``version``, ``nodeCount``, ``capacity``, ``allocatable``, ``requested``
  are written once known (the informers have listed) and kept while the
  cluster is away: the last known figures are more useful than none.
- Condition times follow ``corral.controller.conditions``;
  ``lastUpdateTime`` moves whenever the condition's content does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from corral.controller import FALSE, TRUE, get_condition, is_true, set_condition
from corral.controller.conditions import format_time

CONNECTED = "Connected"
READY = "Ready"
NEVER_CONNECTED = "NeverConnected"

Obj = dict[str, Any]
#: A condition message is one line of at most this many characters.
MESSAGE_LIMIT = 300


def one_line(text: str) -> str:
    """``text`` as a condition message: whitespace folded, at most `MESSAGE_LIMIT` characters."""
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


@dataclass(slots=True)
class Observation:
    """What the per-cluster watch knows of the downstream API (None: not known yet)."""

    api_ready: bool | None = None
    api_message: str = ""
    version: dict[str, str] | None = None
    node_count: int | None = None
    capacity: dict[str, str] | None = None
    allocatable: dict[str, str] | None = None
    requested: dict[str, str] | None = None


def _status(obj: Obj) -> dict[str, Any]:
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    return status


def _set_ready(obj: Obj, ready: bool, reason: str, message: str) -> bool:
    if not set_condition(obj, READY, TRUE if ready else FALSE, reason, message):
        return False
    condition = get_condition(obj, READY)
    assert condition is not None
    condition["lastUpdateTime"] = format_time(datetime.now(UTC))
    return True


def _set(status: dict[str, Any], key: str, value: Any) -> bool:
    if value is None or status.get(key) == value:
        return False
    status[key] = value
    return True


def observe(obj: Obj, seen: Observation) -> bool:
    """Write ``seen`` into the Cluster ``obj`` (a copy); True when anything changed."""
    changed = False
    status = _status(obj)
    if seen.api_ready is not None:
        if seen.api_ready:
            changed |= _set_ready(obj, True, "APIReady", "the cluster's API server is ready")
        else:
            changed |= _set_ready(obj, False, "APIUnavailable", seen.api_message)
        changed |= _set(status, "state", "active" if seen.api_ready else "unavailable")
    changed |= _set(status, "version", seen.version)
    changed |= _set(status, "nodeCount", seen.node_count)
    changed |= _set(status, "capacity", seen.capacity)
    changed |= _set(status, "allocatable", seen.allocatable)
    changed |= _set(status, "requested", seen.requested)
    return changed


def never_connected(obj: Obj) -> bool:
    """Whether the cluster's agent has never been connected."""
    connected = get_condition(obj, CONNECTED)
    agent = _status(obj).get("agent")
    last = agent.get("lastConnected") if isinstance(agent, dict) else None
    return not last and (connected is None or connected.get("reason") == NEVER_CONNECTED)


def mark_disconnected(obj: Obj) -> bool:
    """Ready False ``Disconnected`` and the matching state on ``obj``; True when changed."""
    connected = get_condition(obj, CONNECTED)
    detail = str((connected or {}).get("message") or "")
    message = "the cluster's agent is not connected" + (f": {detail}" if detail else "")
    changed = _set_ready(obj, False, "Disconnected", message)
    state = "pending" if never_connected(obj) else "disconnected"
    changed |= _set(_status(obj), "state", state)
    return changed


def is_connected(obj: Obj) -> bool:
    return is_true(obj, CONNECTED)


def merge_diff(old: Any, new: Any) -> Any:
    """The JSON merge patch that turns ``old`` into ``new`` (lists are replaced whole)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new
    out: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            out[key] = value
        elif old[key] != value:
            out[key] = merge_diff(old[key], value)
    for key in old:
        if key not in new:
            out[key] = None
    return out


def mark_unavailable(obj: Obj, message: str) -> bool:
    """Ready False ``APIUnavailable`` (the cluster is connected but cannot be reached)."""
    changed = _set_ready(obj, False, "APIUnavailable", one_line(message))
    changed |= _set(_status(obj), "state", "unavailable")
    return changed

"""Conversions between a served shape and the stored shape of one kind.

Most kinds are stored as they are served. events.k8s.io/v1 Events share
storage with core/v1 Events (as in Kubernetes), and the stored shape is
core/v1's; `EVENTS_V1` renames the fields that differ, both ways
(``regarding`` ⇄ ``involvedObject``, ``note`` ⇄ ``message``,
``reportingController`` ⇄ ``reportingComponent``, ``deprecatedSource`` ⇄
``source``, ``deprecated{First,Last}Timestamp`` ⇄ ``{first,last}Timestamp``,
``deprecatedCount`` ⇄ ``count``). Everything else carries over unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Conversion:
    """Field renames between the served (new) and stored (old) shapes."""

    served_api_version: str
    stored_api_version: str
    renames: tuple[tuple[str, str], ...]  # (served field, stored field)

    def to_stored(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self._move(obj, self.stored_api_version, [(n, o) for n, o in self.renames])

    def to_served(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self._move(obj, self.served_api_version, [(o, n) for n, o in self.renames])

    @staticmethod
    def _move(
        obj: dict[str, Any], api_version: str, pairs: list[tuple[str, str]]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        mapping = dict(pairs)
        for key, value in obj.items():
            if key == "apiVersion":
                out[key] = api_version
            elif key in mapping:
                out[mapping[key]] = value
            elif key not in mapping.values():
                out[key] = value
        out.setdefault("apiVersion", api_version)
        return out


EVENTS_V1 = Conversion(
    served_api_version="events.k8s.io/v1",
    stored_api_version="v1",
    renames=(
        ("regarding", "involvedObject"),
        ("note", "message"),
        ("reportingController", "reportingComponent"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ),
)

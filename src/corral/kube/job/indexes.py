"""``status.completedIndexes`` of Indexed Jobs: a set of indexes as Kubernetes writes it.

Kubernetes keeps succeeded indexes as ordered intervals and prints them
``"0-2,4,6,7"`` (a run of two is written as two numbers, longer runs as a
range). Corral keeps a plain set (completions are bounded by validation)
and reads and writes the same text, ignoring malformed or out-of-range parts
as Kubernetes does.
"""

from __future__ import annotations

from collections.abc import Iterable


def parse_indexes(text: str | None, completions: int) -> set[int]:
    found: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        low, high = int(first), int(last or first)
        found.update(range(low, min(high, completions - 1) + 1))
    return found


def format_indexes(indexes: Iterable[int]) -> str:
    parts: list[str] = []
    ordered = sorted(set(indexes))
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[start], ordered[end]
        if first == last:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
        start = end + 1
    return ",".join(parts)

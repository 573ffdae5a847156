"""`json_copy`: a private copy of a JSON document, several times faster than deepcopy.

Controllers and the store copy API objects constantly (to mutate without
touching a cache). These are JSON documents — dicts, lists, strings,
numbers — for which a round trip through orjson is an exact copy and far
cheaper than `copy.deepcopy`'s generic machinery. Anything orjson cannot
encode (a non-string key, an integer beyond 64 bits, a foreign object)
falls back to `copy.deepcopy`, so the result is always a faithful copy.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import orjson

T = TypeVar("T")


def json_copy(doc: T) -> T:
    """A deep copy of ``doc`` (tuples come back as lists, as JSON has no tuples)."""
    try:
        copied: T = orjson.loads(orjson.dumps(doc))
    except TypeError:
        return copy.deepcopy(doc)
    return copied

"""Where a read is served from, by its resourceVersion (Kubernetes' rules).

- unset: a consistent read at the newest revision: from the watch cache once
  its progress has reached the datastore's current revision (it waits up to
  `CONSISTENT_WAIT` seconds, as Kubernetes' consistent reads from cache do),
  else from storage. A LIST with ``limit`` reads storage (continue tokens
  need a revision the datastore can read).
- ``0``: any recent state: the watch cache, as it is.
- ``N`` (NotOlderThan, the default match): the watch cache once it has
  reached N. A cache behind N waits up to `TOO_LARGE_WAIT` seconds for it
  (another replica may have written N a moment ago), then answers as
  Kubernetes' watch cache does: 504, reason ``Timeout``, message ``Timeout:
  Too large resource version: N, current: C``, cause
  ``ResourceVersionTooLarge``, ``retryAfterSeconds`` 1; client-go's
  reflector then retries.
- ``resourceVersionMatch=Exact``: storage at exactly N (410 if compacted).
"""

from __future__ import annotations

from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import query_one
from corral.machinery.status import BadRequest, ResourceVersionTooLarge


def parse_revision(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise BadRequest(
            f'resourceVersion: Invalid value: "{text}": must be a non-negative integer'
        )
    return value


def check_match(v: Verb, rv: str) -> str:
    """The resourceVersionMatch, checked against resourceVersion."""
    match = query_one(v.request, "resourceVersionMatch")
    if match and match not in ("NotOlderThan", "Exact"):
        raise BadRequest(
            f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
            '"Exact", "NotOlderThan", ""'
        )
    if match and not rv:
        raise BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
    if match == "Exact" and rv == "0":
        raise BadRequest('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
    return match


#: How long a consistent read waits for the watch cache before reading storage.
CONSISTENT_WAIT = 3.0


async def consistent_from_cache(v: Verb) -> bool:
    """True once the watch cache reflects every acknowledged write (consistent read)."""
    if not v.cache.synced.is_set():
        return False
    target = await v.backend.current_revision()
    return await v.cache.wait_until(target, CONSISTENT_WAIT)


#: How long a read at a resourceVersion the cache has not reached waits for it
#: (Kubernetes' ``blockTimeout`` of the watch cache).
TOO_LARGE_WAIT = 3.0


async def cache_serves(v: Verb, rv: str) -> bool:
    """True if the read at ``rv`` is served by the watch cache (checks the match
    rules too); waits for a cache behind ``rv``, then `ResourceVersionTooLarge`."""
    match = check_match(v, rv)
    if not rv:
        return False
    revision = parse_revision(rv)
    if match == "Exact" or not v.cache.synced.is_set():
        return False
    if revision == 0 or v.cache.progress() >= revision:
        return True
    if await v.cache.wait_until(revision, TOO_LARGE_WAIT):
        return True
    raise ResourceVersionTooLarge(revision, v.cache.progress())

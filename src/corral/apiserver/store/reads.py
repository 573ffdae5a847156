"""Reading objects straight from storage: GET and paginated LIST.

Used for consistent reads (no resourceVersion: the newest state), exact
reads (``resourceVersionMatch=Exact``) and every paginated LIST. A page is
read at one revision; its continue token pins the next page to the same
revision, so a paginated LIST is one consistent snapshot even while writes
go on. With a selector, keys are read in batches and filtered until the page
is full, and the token points after the last object returned. A revision
that has been compacted answers 410 Expired; one not yet written, 504 with
cause ResourceVersionTooLarge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.apiserver.registry import ResourceType
from corral.apiserver.store.continuetoken import decode_continue, encode_continue
from corral.apiserver.store.encoding import decode, with_resource_version
from corral.apiserver.store.objects import Stored, served_body, stored_from_kv
from corral.machinery.status import Expired, NotFound, ResourceVersionTooLarge
from corral.storage import Backend, CompactedError, FutureRevisionError

Predicate = Callable[[dict[str, Any]], bool]

EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue token in "
    "this response to retrieve the remainder of the results. Continuing with the provided "
    "token results in an inconsistent list - objects that were created, modified, or "
    "deleted between the time the first chunk was returned and now may show up in the list."
)

_BATCH = 500


@dataclass(slots=True)
class ListPage:
    """One page: the served JSON of each item, the revision read at, the next token."""

    items: list[bytes]
    revision: int
    continue_token: str = ""
    remaining: int | None = None


async def get_object(
    backend: Backend, rt: ResourceType, namespace: str, name: str, revision: int = 0
) -> Stored:
    """The object now (``revision`` 0) or as of ``revision``; 404 if absent."""
    try:
        kv = await backend.get(rt.key(namespace, name), revision=revision)
    except CompactedError as exc:
        raise Expired.too_old_resource_version(exc.requested, exc.compacted + 1) from None
    except FutureRevisionError as exc:
        raise ResourceVersionTooLarge(exc.requested, exc.current) from None
    if kv is None:
        raise NotFound(rt.resource, name, group=rt.group)
    return stored_from_kv(rt, kv)


async def list_objects(
    backend: Backend,
    rt: ResourceType,
    namespace: str,
    *,
    revision: int = 0,
    limit: int = 0,
    continue_token: str = "",
    predicate: Predicate | None = None,
) -> ListPage:
    """One page of the collection (everything when ``limit`` is 0)."""
    prefix = rt.collection_prefix(namespace)
    start_after = ""
    if continue_token:
        revision, start_after = decode_continue(continue_token, prefix)
    items: list[bytes] = []
    read_at = revision
    while True:
        want = 0 if limit == 0 else (limit - len(items) if predicate is None else _BATCH)
        try:
            page = await backend.list(prefix, revision=read_at, limit=want, start_after=start_after)
        except CompactedError as exc:
            if continue_token:
                raise Expired(EXPIRED_CONTINUE) from None
            raise Expired.too_old_resource_version(exc.requested, exc.compacted + 1) from None
        except FutureRevisionError as exc:
            raise ResourceVersionTooLarge(exc.requested, exc.current) from None
        read_at = page.revision
        for index, kv in enumerate(page.items):
            if predicate is not None and not predicate(decode(kv.value, kv.mod_revision)):
                continue
            items.append(served_body(rt, with_resource_version(kv.value, kv.mod_revision)))
            if limit and len(items) == limit:
                more = page.more or index < len(page.items) - 1
                token = encode_continue(read_at, kv.key, prefix) if more else ""
                return ListPage(items, read_at, token)
        if not page.more or not page.items:
            return ListPage(items, read_at)
        start_after = page.items[-1].key

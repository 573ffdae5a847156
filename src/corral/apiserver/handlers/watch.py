"""WATCH: a chunked stream of newline-separated JSON events, from the watch cache.

Each line is ``{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}``.
What it decides, following Kubernetes:

- No resourceVersion, or ``0``: first an ADDED for every current object,
  then changes. ``resourceVersion=N``: exactly the changes after N. A
  revision older than the cache's event ring: HTTP 200, one ERROR event with
  a 410 Expired Status, and the stream ends (the client re-lists).
- ``sendInitialEvents=true`` (needs ``resourceVersionMatch=NotOlderThan`` and
  ``allowWatchBookmarks=true``): ADDED for the current state, then a BOOKMARK
  annotated ``k8s.io/initial-events-end: "true"``.
- Selectors: an object that stops matching is sent as DELETED, one that
  starts matching as ADDED.
- ``allowWatchBookmarks``: a BOOKMARK (apiVersion, kind and
  metadata.resourceVersion only) when the stream has been idle for the
  bookmark interval.
- With Accept ``as=Table`` (``kubectl get -w``), each event's object is a
  one-row Table; only the first carries the column definitions.
- ``timeoutSeconds`` ends the stream; without it a random 30 to 60 minutes.
  The stream also ends when the client goes away or the server shuts down.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable

import orjson

from corral.apiserver.asgi import StreamingResponse
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import query_int, query_one, wants_table
from corral.apiserver.handlers.readmode import parse_revision
from corral.apiserver.handlers.selection import Selection, selection_from
from corral.apiserver.store.objects import served_body
from corral.apiserver.tables import to_table
from corral.apiserver.watchcache import ADDED, DELETED, MODIFIED, CacheEvent, Watcher
from corral.machinery.status import BadRequest, Expired

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _line(kind: str, body: bytes) -> bytes:
    return b'{"type":"%s","object":%s}\n' % (kind.encode(), body)


def _bookmark(v: Verb, revision: int, initial_end: bool = False) -> bytes:
    meta: dict[str, object] = {"resourceVersion": str(revision)}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    obj = {"kind": v.rt.kind, "apiVersion": v.rt.api_version, "metadata": meta}
    return _line("BOOKMARK", orjson.dumps(obj))


def _transform(event: CacheEvent, selection: Selection) -> tuple[str, bytes] | None:
    """The event as this watcher should see it, or None to skip it."""
    if selection.everything:
        return event.type, event.object.body
    now = event.type != DELETED and selection.matches(event.object.obj)
    if event.type == ADDED:
        return (ADDED, event.object.body) if now else None
    if event.type == DELETED:
        return (DELETED, event.object.body) if selection.matches(event.object.obj) else None
    before = event.prev is not None and selection.matches(event.prev.obj)
    if now and before:
        return MODIFIED, event.object.body
    if now:
        return ADDED, event.object.body
    if before:
        return DELETED, event.object.body
    return None


def _error_stream(error: Expired) -> AsyncIterator[bytes]:
    async def one() -> AsyncIterator[bytes]:
        yield _line("ERROR", orjson.dumps(error.to_status()))

    return one()


def _table_renderer(v: Verb) -> Callable[[bytes], bytes]:
    """Renders each event object as a one-row Table; headers only the first time."""
    include = query_one(v.request, "includeObject", "Metadata")
    first = True

    def render(body: bytes) -> bytes:
        nonlocal first
        obj = orjson.loads(body)
        table = to_table(v.rt, [obj], include)
        table["metadata"] = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        if not first:
            table["columnDefinitions"] = []
        first = False
        return orjson.dumps(table)

    return render


async def watch(v: Verb) -> StreamingResponse:
    selection = selection_from(v.request, v.rt, v.name)
    rv = query_one(v.request, "resourceVersion")
    bookmarks = query_one(v.request, "allowWatchBookmarks").lower() == "true"
    initial = query_one(v.request, "sendInitialEvents")
    match = query_one(v.request, "resourceVersionMatch")
    send_initial = initial.lower() == "true"
    if initial and match != "NotOlderThan":
        raise BadRequest(
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless "
            "resourceVersionMatch is set to NotOlderThan"
        )
    if send_initial and not bookmarks:
        raise BadRequest(
            "allowWatchBookmarks: Forbidden: allowWatchBookmarks must be set to true when "
            "sendInitialEvents is set"
        )
    timeout = query_int(v.request, "timeoutSeconds")
    if timeout <= 0:
        low, high = v.parts.watch_timeout_range
        timeout = random.randint(low, high)  # noqa: S311 (spreading reconnects, not security)
    revision = parse_revision(rv) if rv else 0
    from_start = send_initial or (revision == 0 and initial.lower() != "false")
    if not v.cache.synced.is_set():
        await v.cache.synced.wait()
    prefix = v.rt.collection_prefix(v.namespace)
    if not from_start and revision == 0:
        revision = v.cache.revision  # "any" state, without the initial events
    try:
        watcher, events, at = v.cache.watch(prefix, None if from_start else revision)
    except Expired as exc:
        return StreamingResponse(200, _error_stream(exc))
    render = _table_renderer(v) if wants_table(v.request) else None
    chunks = _stream(
        v, watcher, events, at, selection, bookmarks, send_initial, float(timeout), render
    )
    return StreamingResponse(200, chunks)


async def _stream(
    v: Verb,
    watcher: Watcher,
    initial: list[CacheEvent],
    at: int,
    selection: Selection,
    bookmarks: bool,
    initial_end: bool,
    seconds: float,
    render: Callable[[bytes], bytes] | None,
) -> AsyncIterator[bytes]:
    def line(shown: tuple[str, bytes]) -> bytes:
        body = served_body(v.rt, shown[1])
        return _line(shown[0], render(body) if render is not None else body)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        for event in initial:
            shown = _transform(event, selection)
            if shown is not None:
                yield line(shown)
        if initial_end:
            yield _bookmark(v, at, initial_end=True)
        last = at
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait = min(remaining, v.parts.bookmark_interval) if bookmarks else remaining
            try:
                change = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if bookmarks and watcher.idle and loop.time() < deadline:
                    last = max(last, v.cache.revision)
                    yield _bookmark(v, last)
                continue
            if change is None:
                return
            last = change.revision
            shown = _transform(change, selection)
            if shown is not None:
                yield line(shown)
    finally:
        watcher.close()

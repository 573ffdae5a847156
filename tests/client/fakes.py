"""A scripted `Transport` for the unit tests: canned answers, recorded requests, fake time.

Each ``request`` (or ``stream``) call takes the next scripted step: a
`SimpleResponse` to answer with, an exception to raise (as a dropped
connection would), or, for streams, a `FakeStream` whose lines are played
and which may end with an exception. Fakes are fine here because what is
tested is the client's decisions, not a server; the live tests use a real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from corral.client import RetryPolicy, SimpleResponse, Watch
from corral.client.transport import Query


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeStream:
    """A streamed answer: ``lines`` then, if set, ``fail`` raised mid-stream."""

    lines_: list[bytes] = field(default_factory=list)
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    fail: BaseException | None = None

    async def read(self) -> bytes:
        return self.body

    async def lines(self) -> AsyncIterator[bytes]:
        for line in self.lines_:
            yield line
        if self.fail is not None:
            raise self.fail


Step = SimpleResponse | FakeStream | BaseException


class FakeTransport:
    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.sent: list[Sent] = []
        self.closed = False

    def _next(self, method: str, path: str, query: Query, headers: Any, body: Any) -> Step:
        decoded = orjson.loads(body) if body else None
        self.sent.append(Sent(method, path, dict(query), dict(headers or {}), decoded))
        if not self.steps:
            raise AssertionError(f"unscripted request {method} {path}")
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    async def request(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> SimpleResponse:
        step = self._next(method, path, query, headers, body)
        assert isinstance(step, SimpleResponse)
        return step

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[FakeStream]:
        step = self._next(method, path, query, headers, None)
        assert isinstance(step, FakeStream)
        yield step

    async def close(self) -> None:
        self.closed = True


class FakeSleep:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(sleep: FakeSleep, attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts, base_delay=0.1, max_delay=1.0, sleep=sleep)


def status(code: int, reason: str, message: str = "", **details: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message or reason,
        "reason": reason,
        "code": code,
    }
    if details:
        out["details"] = details
    return out


def answer(code: int, doc: Any = None, **headers: str) -> SimpleResponse:
    body = orjson.dumps(doc) if doc is not None else b""
    return SimpleResponse(code, body, {k.replace("_", "-"): v for k, v in headers.items()})


def event(type_: str, name: str, rv: str) -> bytes:
    obj = {"kind": "ConfigMap", "metadata": {"name": name, "resourceVersion": rv}}
    if type_ == "BOOKMARK":
        obj = {"kind": "ConfigMap", "metadata": {"resourceVersion": rv}}
    return orjson.dumps({"type": type_, "object": obj})


async def drain(watch: Watch, seen: list[str] | None = None) -> None:
    """Consume a watch to its end (or its error), noting event types in ``seen``."""
    async with watch:
        async for e in watch:
            if seen is not None:
                seen.append(e.type)

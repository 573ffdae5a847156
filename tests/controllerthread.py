"""Built-in controllers run in the test process, on their own thread and event loop.

The live tests drive a real ``corral server`` with kubectl (blocking
subprocesses), while controllers under test — built by their module's
``build(ctx)`` — run against that server through an HTTP `corral.client.Client`
in a background thread, exactly as the controller manager would run them
(shared informers started, synced, then every part run). Leaving the
``with`` block stops them and closes the client. A test that runs on an
event loop itself runs them there instead: ``async with running(ctx, parts)``
(`new_context` makes the context for a client). `server_with_controllers`
is a module's ``server`` fixture: a live server with a `ControllerThread`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from corral.client import Client
from corral.controller import SharedInformers
from corral.kube.context import KubeContext, KubeOptions, Runnable
from serverproc import CorralServer, running_server

Builder = Callable[[KubeContext], list[Runnable]]
SYNC_DEADLINE = 30.0


class ControllerThread:
    """``with ControllerThread(kubeconfig, [module.build, …]):`` runs them meanwhile."""

    def __init__(self, kubeconfig: Path, builders: Sequence[Builder], workers: int = 2) -> None:
        self.kubeconfig = kubeconfig
        self.builders = list(builders)
        self.workers = workers
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._main: Future[None] | None = None
        self._ready: Future[None] = Future()
        self._stop: asyncio.Event | None = None

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        async with Client.from_kubeconfig(self.kubeconfig) as client:
            ctx = KubeContext(client, SharedInformers(client), KubeOptions(workers=self.workers))
            parts = [part for build in self.builders for part in build(ctx)]
            ctx.informers.start()
            try:
                await asyncio.wait_for(ctx.informers.wait_for_sync(), SYNC_DEADLINE)
                tasks = [asyncio.create_task(part.run()) for part in parts]
                self._ready.set_result(None)
                await self._stop.wait()
                for part in parts:
                    await part.stop()
                for task in tasks:
                    task.cancel()
                    with suppress(asyncio.CancelledError, Exception):
                        await task
            except BaseException as exc:
                if not self._ready.done():
                    self._ready.set_exception(exc)
                raise
            finally:
                await ctx.informers.stop()

    def __enter__(self) -> ControllerThread:
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._run(), self.loop)
        self._ready.result(SYNC_DEADLINE + 5)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        if self._main is not None:
            with suppress(Exception):
                self._main.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def new_context(client: Client, **kwargs: Any) -> KubeContext:
    return KubeContext(client, SharedInformers(client), **kwargs)


@asynccontextmanager
async def running(ctx: KubeContext, parts: list[Runnable]) -> AsyncIterator[list[Runnable]]:
    """Start the informers and ``parts``; stop them all at the end."""
    ctx.informers.start()
    await ctx.informers.wait_for_sync()
    tasks = [asyncio.create_task(p.run()) for p in parts]
    try:
        yield parts
    finally:
        for part in parts:
            await part.stop()
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await ctx.informers.stop()


def server_with_controllers(name: str, builders: Sequence[Builder]) -> Any:
    """A module-scoped ``server`` fixture: a server (data directory named after ``name``)
    with the controllers of ``builders`` running on a `ControllerThread` meanwhile."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
        with (
            running_server(tmp_path_factory.mktemp(name) / "data") as srv,
            ControllerThread(srv.kubeconfig_path, builders),
        ):
            yield srv

    return server

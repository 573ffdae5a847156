"""Built-in controllers run in the test process, on their own thread and event loop.

The live tests drive a real ``corral server`` with kubectl (blocking
subprocesses), while controllers under test — built by their module's
``build(ctx)`` — run against that server through an HTTP `corral.client.Client`
in a background thread, exactly as the controller manager would run them
(shared informers started, synced, then every part run). Leaving the
``with`` block stops them and closes the client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from typing import Any

from corral.client import Client
from corral.controller import SharedInformers
from corral.kube.context import KubeContext, KubeOptions, Runnable

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

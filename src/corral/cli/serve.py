"""Running the server: one event loop, two uvicorn servers, clean shutdown.

`run_server` checks the data directory, binds both ports (so a taken port
is reported before anything else happens), then runs start-up
(`corral.cli.startup`) and both uvicorn servers (`corral.cli.uvicorn_servers`)
on one event loop (uvloop when installed), on the sockets it bound. Once
serving, it prints where to go and how to use the admin kubeconfig.

Shutdown, on the first SIGTERM or SIGINT: ``/readyz`` starts failing
(``shutdown``); after ``--shutdown-delay`` seconds (default 0; load
balancers get time to notice) both servers stop accepting, idle connections
close, in-flight requests get ``--shutdown-grace-period`` seconds (default
30) to finish and are then cancelled; the renewer stops, the datastore
closes, and the process exits 0. A second signal exits at once with
status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from corral import __version__
from corral.cli.datadir import prepare_data_dir
from corral.cli.listen import bind_listener
from corral.cli.logs import configure_logging
from corral.cli.settings import ServerSettings

if TYPE_CHECKING:
    from corral.cli.startup import Components

log = logging.getLogger("corral.cli")


def run_server(settings: ServerSettings) -> int:
    """Serve until a signal; returns the exit status. Raises `StartupError`."""
    configure_logging(settings.log_format, settings.log_level)
    prepare_data_dir(settings.data_dir)
    https_sock = bind_listener(settings.bind_address, settings.https_port, "HTTPS", "--https-port")
    try:
        http_sock = bind_listener(settings.bind_address, settings.http_port, "HTTP", "--http-port")
    except BaseException:
        https_sock.close()
        raise
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(_serve(settings, https_sock, http_sock))
    finally:
        https_sock.close()
        http_sock.close()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class _Signals:
    """First SIGTERM/SIGINT: set `stopping`. Second: exit immediately."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        sigs = (signal.SIGTERM, signal.SIGINT)
        for sig in sigs:
            loop.add_signal_handler(sig, self._received, sig)
        try:
            yield
        finally:
            for sig in sigs:
                loop.remove_signal_handler(sig)

    def _received(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            log.warning("second signal, exiting immediately", extra={"signal": sig.name})
            os._exit(1)
        log.info("shutting down", extra={"signal": sig.name})
        self.stopping.set()


async def _serve(
    settings: ServerSettings, https_sock: socket.socket, http_sock: socket.socket
) -> int:
    # Imported here, after the data dir and ports are checked, so those
    # failures are reported without waiting for uvicorn, cryptography & co.
    from corral.cli.startup import build_components, display_url, open_storage

    https_port = https_sock.getsockname()[1]
    signals = _Signals()
    with signals.installed():
        log.info(
            "starting corral",
            extra={
                "version": __version__,
                "data_dir": str(settings.data_dir),
                "datastore": display_url(settings.datastore),
                "management": "on" if settings.management else "off",
            },
        )
        storage = await open_storage(settings)
        backend = storage.backend
        try:
            components = await build_components(settings, storage, https_port)
            try:
                if signals.stopping.is_set():
                    return 0
                return await _run(settings, components, signals, https_sock, http_sock)
            finally:
                await components.kube.stop()
                await components.close()
        finally:
            await backend.close()
            log.info("datastore closed")


async def _run(
    settings: ServerSettings,
    c: Components,
    signals: _Signals,
    https_sock: socket.socket,
    http_sock: socket.socket,
) -> int:
    from corral.cli.uvicorn_servers import make_server

    grace = settings.shutdown_grace_period
    servers = [
        make_server(c.https_app, c.ssl_context, grace),
        make_server(c.http_app, None, grace),
    ]
    tasks = [
        asyncio.create_task(servers[0].serve(sockets=[https_sock]), name="https"),
        asyncio.create_task(servers[1].serve(sockets=[http_sock]), name="http"),
    ]
    renewer = asyncio.create_task(c.renewer.run(), name="cert-renewer")
    await c.start_background()
    _announce(settings, https_sock.getsockname()[1], http_sock.getsockname()[1], c)

    stop = asyncio.create_task(signals.stopping.wait())
    done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
    ended_early = stop not in done
    c.health.begin_shutdown()
    if not ended_early and settings.shutdown_delay > 0:
        log.info("readiness is failing; still serving", extra={"delay": settings.shutdown_delay})
        await asyncio.sleep(settings.shutdown_delay)
    await c.stop_background()
    # Open watches end now, so the servers need not wait for them.
    await c.kube.stop()
    for server in servers:
        server.should_exit = True
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stop.cancel()
    renewer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await renewer
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException):
            log.error("server failed", extra={"server": task.get_name(), "error": repr(result)})
            return 1
    if ended_early:
        log.error("a server stopped on its own")
        return 1
    return 0


def _announce(settings: ServerSettings, https_port: int, http_port: int, c: Components) -> None:
    url = settings.https_url(https_port) + "/"
    kubeconfig = str(c.credentials.kubeconfig_path)
    hint = f"kubectl --kubeconfig {shlex.quote(kubeconfig)} get --raw '/readyz?verbose'"
    if settings.log_format == "json":
        log.info(
            "corral is serving",
            extra={"url": url, "http_port": http_port, "kubeconfig": kubeconfig, "try": hint},
        )
        return
    sys.stderr.write(
        f"\ncorral is serving {url}  (plain HTTP on port {http_port} redirects there)\n"
        f"  admin kubeconfig: {kubeconfig}\n"
        f"  try: {hint}\n\n"
    )
    sys.stderr.flush()
    _show_bootstrap_password(settings, c)


def _show_bootstrap_password(settings: ServerSettings, c: Components) -> None:
    """The new admin password, once, to a terminal only (never to a log)."""
    if c.bootstrap_password is None or not sys.stdout.isatty():
        return
    sys.stdout.write(
        f"  first login: user admin, password {c.bootstrap_password}\n"
        f"  (also in {settings.data_dir / 'bootstrap-password'} until you change it)\n\n"
    )
    sys.stdout.flush()

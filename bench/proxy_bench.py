"""Proxied GET latency against a direct GET to the same downstream cluster.

Three real processes as users run them: a downstream ``corral server
--no-management``, a management ``corral server``, and a ``corral agent``
that imported the downstream (the command a Cluster's status shows) and
holds the tunnel. One keep-alive HTTPS client per path, one request at a
time:

- **direct**: ``GET /api/v1/namespaces/default/configmaps/cm`` on the
  downstream with the agent's service-account token and the
  ``Impersonate-User``/``-Group`` the proxy sends (so the downstream does
  the same work both ways);
- **proxied**: the same GET at ``/k8s/clusters/<id>/…`` on the management
  server with a Corral user's kubeconfig token (authenticated, ``may_use``,
  forwarded over the proxy's pooled connection through the tunnel, TLS end
  to end to the downstream).

Both are measured in the same round, alternating in blocks, `ROUNDS`
rounds; each round's p50 and p99, and the p50 overhead (proxied p50 minus
direct p50: goal <= 2 ms). The figures include the management server's
own authentication of the Corral token. The machine is shared: latency
counts waiting for a core as well, so the CPU each server process spent
per request (from /proc, during its own blocks) is recorded too, with the
management server's CPU for a GET of its own API by the same user (the
same configmap, served by Corral itself) as the floor every request pays.
"""

from __future__ import annotations

import base64
import os
import shlex
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.report import Figure, Run
from bench.server import Server, corral_executable, running_server

MANAGEMENT = "/apis/management.corral.io/v1"
USER = "bench-user"
PASSWORD = "correct-horse-battery"  # noqa: S105 (a bench user's)
RBAC = "/apis/rbac.authorization.k8s.io/v1"
PATH = "/api/v1/namespaces/default/configmaps/cm"
REQUESTS = 1_000
BLOCK = 50
ROUNDS = 3
WARMUP = 100


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"bench setup: {response.request.url.path}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def _binding(name: str, role: str, subject: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [subject],
    }


def _client(server: Server, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.https_url, verify=server.ca_file, headers=headers)


def prepare_downstream(down: Server) -> None:
    """The bench user's rights downstream, and the object every GET reads."""
    with _client(down, down.token) as http:
        user = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}
        _ok(http.post(f"{RBAC}/clusterrolebindings", json=_binding("user", "cluster-admin", user)))
        _ok(
            http.post(
                "/api/v1/namespaces/default/configmaps",
                json={"metadata": {"name": "cm"}, "data": {"k": "v" * 100}},
            )
        )


def _wait(what: str, check: Callable[[], Any], deadline: float = 60.0) -> Any:
    end = time.monotonic() + deadline
    while not (result := check()):
        if time.monotonic() > end:
            raise RuntimeError(f"bench setup: {what} did not happen in {deadline:g}s")
        time.sleep(0.1)
    return result


def import_cluster(mgmt: Server, down: Server, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A Cluster imported by a ``corral agent`` process; its id and the agent."""
    with _client(mgmt, mgmt.token) as http:
        _ok(
            http.patch(
                f"{MANAGEMENT}/settings/server-url",
                json={"value": mgmt.https_url},
                headers={"Content-Type": "application/merge-patch+json"},
            )
        )
        made = _ok(
            http.post(
                f"{MANAGEMENT}/clusters",
                json={"metadata": {"generateName": "c-"}, "spec": {"displayName": "bench"}},
            )
        )
        cluster = str(made["metadata"]["name"])

        def status() -> dict[str, Any]:
            body: dict[str, Any] = http.get(f"{MANAGEMENT}/clusters/{cluster}").json()
            return body.get("status") or {}

        command = _wait(
            "registration", lambda: (status().get("registration") or {}).get("agentCommand")
        )
        argv = [corral_executable(), *shlex.split(command)[1:], "--kubeconfig"]
        argv.append(str(down.data_dir / "admin.kubeconfig"))
        with log.open("wb") as out:
            agent = subprocess.Popen(argv, stdout=out, stderr=out)
        _wait("the agent's connection", lambda: (status().get("agent") or {}).get("connected"))
    return cluster, agent


def agent_token(down: Server) -> str:
    """The agent's service-account token (the long-lived Secret it made downstream)."""
    with _client(down, down.token) as http:
        secrets = _ok(http.get("/api/v1/namespaces/corral-system/secrets"))["items"]
    for secret in secrets:
        if secret.get("type") == "kubernetes.io/service-account-token":
            return base64.b64decode(secret["data"]["token"]).decode()
    raise RuntimeError("bench setup: no service-account token Secret in corral-system")


def prepare_management(mgmt: Server) -> str:
    """A Corral user who may use every cluster (a global admin for clusters); its token."""
    with _client(mgmt, mgmt.token) as http:
        rule = {"apiGroups": ["management.corral.io"], "resources": ["clusters"], "verbs": ["*"]}
        _ok(
            http.post(f"{RBAC}/clusterroles", json={"metadata": {"name": "bench"}, "rules": [rule]})
        )
        user = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}
        _ok(http.post(f"{RBAC}/clusterrolebindings", json=_binding("bench", "bench", user)))
        _ok(http.post(f"{RBAC}/clusterrolebindings", json=_binding("view", "view", user)))
        _ok(
            http.post(
                "/api/v1/namespaces/default/configmaps",
                json={"metadata": {"name": "cm"}, "data": {"k": "v" * 100}},
            )
        )
        _ok(
            http.post(
                "/v3/users",
                json={"username": USER, "password": PASSWORD, "mustChangePassword": False},
            )
        )
    with _client(mgmt) as http:
        login = _ok(
            http.post(
                "/v3-public/localProviders/local?action=login",
                json={"username": USER, "password": PASSWORD},
            )
        )
    with _client(mgmt, login["token"]) as http:
        made = _ok(http.post("/v3/tokens", json={"tokenKind": "kubeconfig"}))
    return str(made["token"])


def _timed(client: httpx.Client, path: str, samples: list[float], count: int) -> None:
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
        samples.append(elapsed * 1000)


def _cpu_seconds(server: Server | int) -> float:
    """User + system CPU the process (a server's, or a pid) has used so far."""
    pid = server if isinstance(server, int) else server.proc.pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(report: Run) -> None:
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp) / "down", args=("--no-management",)) as down,
        running_server(Path(tmp) / "mgmt") as mgmt,
    ):
        prepare_downstream(down)
        user_token = prepare_management(mgmt)
        cluster, agent = import_cluster(mgmt, down, Path(tmp) / "agent.log")
        try:
            _measure(report, down, mgmt, agent.pid, user_token, cluster)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(30)
    report.notes.append(
        f"{REQUESTS} GETs per path per round, one at a time over one keep-alive connection "
        f"each, alternating in blocks of {BLOCK}; {ROUNDS} rounds. Proxied requests go "
        "through the agent's tunnel (a `corral agent` process holding its WebSocket to the "
        "management server) to the downstream. Load average (1 min) "
        f"before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "shared with other work."
    )


def _measure(
    report: Run, down: Server, mgmt: Server, agent: int, user_token: str, cluster: str
) -> None:
    """Time both paths in alternating blocks; add the figures to ``report``."""
    impersonate = {"Impersonate-User": USER, "Impersonate-Group": "system:authenticated"}
    direct = _client(down, agent_token(down))
    direct.headers.update(impersonate)
    proxied = _client(mgmt, user_token)
    proxied_path = f"/k8s/clusters/{cluster}{PATH}"
    _timed(direct, PATH, [], WARMUP)
    _timed(proxied, proxied_path, [], WARMUP)
    p50s: dict[str, list[float]] = {"direct": [], "proxied": []}
    p99s: dict[str, list[float]] = {"direct": [], "proxied": []}
    overheads: list[float] = []
    cpu: dict[str, list[float]] = {"downstream": [], "management": [], "local": [], "agent": []}
    for _ in range(ROUNDS):
        samples: dict[str, list[float]] = {"direct": [], "proxied": []}
        used = {"downstream": 0.0, "management": 0.0, "local": 0.0, "agent": 0.0}
        for _ in range(REQUESTS // BLOCK):
            before = _cpu_seconds(down)
            _timed(direct, PATH, samples["direct"], BLOCK)
            used["downstream"] += _cpu_seconds(down) - before
            before, before_agent = _cpu_seconds(mgmt), _cpu_seconds(agent)
            _timed(proxied, proxied_path, samples["proxied"], BLOCK)
            used["management"] += _cpu_seconds(mgmt) - before
            used["agent"] += _cpu_seconds(agent) - before_agent
            before = _cpu_seconds(mgmt)
            _timed(proxied, PATH, [], BLOCK)
            used["local"] += _cpu_seconds(mgmt) - before
        for name, seconds in used.items():
            cpu[name].append(seconds / REQUESTS * 1000)
        for name, values in samples.items():
            p50s[name].append(statistics.median(values))
            p99s[name].append(_p(values, 0.99))
        overheads.append(p50s["proxied"][-1] - p50s["direct"][-1])
    direct.close()
    proxied.close()
    report.add(
        Figure(
            "direct GET p50 (downstream, the agent token impersonating the user)",
            "ms",
            p50s["direct"],
        )
    )
    report.add(Figure("direct GET p99", "ms", p99s["direct"]))
    report.add(
        Figure("proxied GET p50 (/k8s/clusters/<id>, Corral token, tunnel)", "ms", p50s["proxied"])
    )
    report.add(Figure("proxied GET p99", "ms", p99s["proxied"]))
    report.add(Figure("proxy overhead p50 (proxied - direct)", "ms", overheads, at_most=2.0))
    report.add(
        Figure(
            "proxy overhead p99 (proxied - direct)",
            "ms",
            [p - d for p, d in zip(p99s["proxied"], p99s["direct"], strict=True)],
        )
    )
    report.add(
        Figure("downstream CPU per direct GET (the work proxied too)", "ms", cpu["downstream"])
    )
    report.add(
        Figure(
            "management server CPU per proxied GET (TLS in and out, auth, proxy, tunnel)",
            "ms",
            cpu["management"],
        )
    )
    report.add(Figure("agent CPU per proxied GET (the tunnel's far end)", "ms", cpu["agent"]))
    added = [
        m - floor + a
        for m, floor, a in zip(cpu["management"], cpu["local"], cpu["agent"], strict=True)
    ]
    report.add(
        Figure(
            "CPU the proxied path adds per GET (management beyond its floor + agent)", "ms", added
        )
    )
    report.add(
        Figure(
            "management server CPU per GET of its own API, same token (its floor)",
            "ms",
            cpu["local"],
        )
    )

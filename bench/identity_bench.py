"""Identity figures: login latency (argon2id included) and the token authenticator's cost.

- Login: the real server (subprocess, SQLite, TLS) pinned to core 0; one
  client on core 1 logs in sequentially (``responseType: token``) and the
  median and p99 of the round trip are taken per round. Each login verifies
  one argon2id hash (argon2-cffi defaults: t=3, m=64 MiB, p=4) and creates a
  Token object, so this is the full cost a user waits for.
- Authenticator: `CorralTokenAuthenticator.authenticate` in-process over an
  index of 10,000 tokens (the watch-cache lookup replaced by a dict, which is
  what the cache is), per call, beside the bootstrap admin token's
  authenticator (one SHA-256) as the baseline.
- End to end: GET of one ConfigMap over HTTPS with a Corral token and with
  the admin token (sequential, keep-alive), medians of the latency.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from bench.report import Figure, Run
from bench.server import running_server
from corral.auth import (
    BootstrapTokenAuthenticator,
    CorralTokenAuthenticator,
    UsageRecorder,
    hash_secret,
    new_token,
)
from corral.auth.bearer import token_sha256

ROUNDS = 3
LOGINS = 40
GETS = 500
TOKENS = 10_000
CALLS = 20_000
PASSWORD = "bench-password-123"  # noqa: S105 (a test user's password)
LOGIN = "/v3-public/localProviders/local?action=login"


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


class _Index:
    def __init__(self, tokens: dict[str, dict[str, Any]], users: dict[str, dict[str, Any]]):
        self._tokens, self._users = tokens, users

    async def token(self, name: str) -> Mapping[str, Any] | None:
        return self._tokens.get(name)

    async def user(self, name: str) -> Mapping[str, Any] | None:
        return self._users.get(name)


async def _authenticator_cost() -> tuple[float, float]:
    """Microseconds per call: Corral token, bootstrap token."""
    tokens: dict[str, dict[str, Any]] = {}
    presented = []
    while len(tokens) < TOKENS:
        token = new_token()
        if token.name in tokens:  # names are random: the server retries a taken one
            continue
        i = len(tokens)
        tokens[token.name] = {
            "metadata": {"name": token.name, "resourceVersion": str(i + 1)},
            "userId": "alice",
            "tokenKind": "session",
            "expiresAt": "2999-01-01T00:00:00Z",
            "tokenHash": hash_secret(token.secret),
        }
        presented.append({"authorization": f"Bearer {token}"})
    users = {"alice": {"metadata": {"name": "alice", "uid": "u-1"}, "enabled": True}}

    async def ignore(name: str, at: str) -> None:
        return None

    corral = CorralTokenAuthenticator(_Index(tokens, users), UsageRecorder(ignore))
    admin = BootstrapTokenAuthenticator(token_sha256("admin-token"))
    admin_headers = {"authorization": "Bearer admin-token"}
    for headers in presented:  # warm the parsed-token cache as a running server has
        assert await corral.authenticate(headers) is not None
    started = time.perf_counter()
    for i in range(CALLS):
        await corral.authenticate(presented[i % TOKENS])
    corral_us = (time.perf_counter() - started) / CALLS * 1e6
    started = time.perf_counter()
    for _ in range(CALLS):
        await admin.authenticate(admin_headers)
    admin_us = (time.perf_counter() - started) / CALLS * 1e6
    return corral_us, admin_us


def _timed(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = http.request(method, path, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code < 300, answer.text
    return elapsed, answer


def run(report: Run) -> None:
    load_before = os.getloadavg()[0]
    corral_rounds, admin_rounds = [], []
    for _ in range(ROUNDS):
        corral_us, admin_us = asyncio.run(_authenticator_cost())
        corral_rounds.append(corral_us)
        admin_rounds.append(admin_us)
    report.add(
        Figure("Corral token authenticator, per request (10,000 tokens)", "µs", corral_rounds)
    )
    report.add(Figure("bootstrap token authenticator, per request (baseline)", "µs", admin_rounds))

    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), cpu=0) as server:
        admin = httpx.Client(
            base_url=server.https_url,
            verify=server.ca_file,
            headers={"Authorization": f"Bearer {server.token}"},
        )
        made = admin.post(
            "/v3/users",
            json={"username": "alice", "password": PASSWORD, "mustChangePassword": False},
        )
        assert made.status_code == 201, made.text
        admin.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "cm"}})
        anonymous = httpx.Client(base_url=server.https_url, verify=server.ca_file)
        p50s, p99s = [], []
        token = ""
        for _ in range(ROUNDS):
            times = []
            for _ in range(LOGINS):
                body = {"username": "alice", "password": PASSWORD}
                elapsed, answer = _timed(anonymous, "POST", LOGIN, json=body)
                times.append(elapsed)
                token = answer.json()["token"]
            p50s.append(statistics.median(times))
            p99s.append(_p99(times))
        report.add(Figure("login p50 (argon2id verify + Token create)", "ms", p50s))
        report.add(Figure("login p99", "ms", p99s))

        user = httpx.Client(
            base_url=server.https_url,
            verify=server.ca_file,
            headers={"Authorization": f"Bearer {token}"},
        )
        path = "/api/v1/namespaces/default/configmaps/cm"
        with_corral, with_admin = [], []
        for _ in range(ROUNDS):
            with_corral.append(statistics.median(_timed(user, "GET", path)[0] for _ in range(GETS)))
            with_admin.append(statistics.median(_timed(admin, "GET", path)[0] for _ in range(GETS)))
        report.add(Figure("GET p50 with a Corral token", "ms", with_corral))
        report.add(Figure("GET p50 with the admin token (baseline)", "ms", with_admin))
        for client in (admin, anonymous, user):
            client.close()
    report.notes.append(
        f"Load average (1 min) before/after the run: {load_before:.1f}/{os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores, shared with other work: the figures carry that noise."
    )
    report.notes.append(
        "Login waits for one argon2id verification (argon2-cffi defaults) in a worker "
        "thread and one Token create; the authenticator figure is the whole per-request "
        "cost of a Corral token (parse, dict lookups, HMAC-SHA256, expiry, user check)."
    )

"""What the audit log and encryption at rest cost, measured in one run.

Three servers run side by side (each pinned to core 0, only one under load
at a time; wrk on core 1): the default (encryption on, no audit log), the
same with ``--audit-log-path <file>`` (level Metadata), and one with
``--no-secrets-encryption``. Rounds alternate between the servers being
compared, so drift on a shared machine hits both alike; the figures are
medians and the ratios are taken between medians of the same run.

- ConfigMap creates/s (16 clients, 1 KiB), audit off vs Metadata to a file;
- Secret creates/s (16 clients, 1 KiB) and GETs/s (16 clients, random one of
  2,000), encryption on vs off. A GET is served from the watch cache, which
  holds decrypted objects: encryption costs a GET nothing, a write one
  AES-GCM seal, and each watch cache event one open.
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import uvloop

from bench.api_bench import run_wrk
from bench.report import Figure, Run
from bench.server import Server, running_server

ROUNDS = 5
SECRETS = 2_000
SERVER_CPU = 0


async def _prepare(server: Server) -> None:
    """Namespaces create, secrets and get; SECRETS Secrets in get."""
    async with httpx.AsyncClient(
        base_url=server.https_url,
        verify=server.ca_file,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    ) as client:
        for ns in ("create", "secrets", "get"):
            body = {"metadata": {"name": ns}}
            (await client.post("/api/v1/namespaces", json=body)).raise_for_status()
        for first in range(0, SECRETS, 100):
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/namespaces/get/secrets",
                        json={"metadata": {"name": f"s-{i:06d}"}, "data": {"v": "eA" * 512}},
                    )
                    for i in range(first, first + 100)
                )
            )
            for answer in answers:
                answer.raise_for_status()


def _rates(server: Server, script: str, env: dict[str, str]) -> float:
    figures = run_wrk(server, script, 16, env)
    assert figures["failed"] == 0, f"{script}: requests failed"
    return figures["rate"]


def _compare(
    report: Run,
    what: str,
    unit: str,
    servers: tuple[Server, Server],
    names: tuple[str, str],
    load: tuple[str, dict[str, str]],
) -> None:
    """Alternate rounds on the two servers; record both medians and their ratio."""
    script, env = load
    first: list[float] = []
    second: list[float] = []
    for _ in range(ROUNDS):
        first.append(_rates(servers[0], script, env))
        second.append(_rates(servers[1], script, env))
    fa = Figure(f"{what}, {names[0]}", unit, first)
    fb = Figure(f"{what}, {names[1]}", unit, second)
    report.add(fa)
    report.add(fb)
    report.add(Figure(f"{what}: {names[1]} / {names[0]}", "ratio", [fb.median / fa.median]))


def run(report: Run) -> None:
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=scratch)))
        common = ("--controllers", "-*")
        plain = stack.enter_context(running_server(tmp / "default", cpu=SERVER_CPU, args=common))
        audited = stack.enter_context(
            running_server(
                tmp / "audited",
                cpu=SERVER_CPU,
                args=(*common, "--audit-log-path", str(tmp / "audit.log")),
            )
        )
        clear = stack.enter_context(
            running_server(tmp / "clear", cpu=SERVER_CPU, args=(*common, "--no-secrets-encryption"))
        )
        for server in (plain, audited, clear):
            uvloop.run(_prepare(server))
        time.sleep(1.0)
        _compare(
            report,
            "ConfigMap creates/s (1 KiB, 16 clients)",
            "creates/s",
            (plain, audited),
            ("audit off", "audit Metadata to a file"),
            ("create.lua", {"BENCH_NS": "create"}),
        )
        _compare(
            report,
            "Secret creates/s (1 KiB, 16 clients)",
            "creates/s",
            (clear, plain),
            ("encryption off", "encryption on"),
            ("secret_create.lua", {"BENCH_NS": "secrets"}),
        )
        _compare(
            report,
            f"Secret GETs/s (one of {SECRETS:,}, 16 clients)",
            "req/s",
            (clear, plain),
            ("encryption off", "encryption on"),
            ("secret_get.lua", {"BENCH_NS": "get", "BENCH_COUNT": str(SECRETS)}),
        )
        lines = sum(1 for _ in (tmp / "audit.log").open("rb"))
        report.notes.append(f"audit log lines written by the audited server: {lines:,}")
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    report.notes.append(f"uname -a: {uname or platform.platform()}")
    report.notes.append(
        "servers pinned to core 0, wrk 4.1 (-t1 -c16, 5 s per round) on core 1; rounds "
        "alternate between the two servers compared; --controllers -*"
    )

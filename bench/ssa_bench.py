"""Server-side apply figures, and what managedFields bookkeeping costs creates.

Both against real servers (subprocess, SQLite, TLS, ``--controllers -*``)
pinned to core 0, with wrk on core 1:

- server-side apply patches/s: 16 clients applying Deployments (each apply
  changes the replica count, so every request computes, merges and writes);
- creates/s of 1 KiB ConfigMaps (the API suite's ``create.lua``) on this
  tree and on a baseline tree without managedFields (``BENCH_BASELINE_SRC``:
  the ``src`` directory of a checkout of the branch point), rounds
  alternating between the two servers so that machine noise hits both;
  the goal is a ratio of at least 0.75 (medians of the same run).

Without ``BENCH_BASELINE_SRC`` only this tree's figures are taken.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.api_bench import ROUNDS, SERVER_CPU, run_wrk
from bench.report import Figure, Run
from bench.server import Server, running_server

OBJECTS = 64
CLIENTS = 16
CREATE_ROUNDS = 5


@contextlib.contextmanager
def _server(data: Path, src: str | None) -> Iterator[Server]:
    """A server on core 0; from the source tree ``src`` when given (PYTHONPATH wins)."""
    if src is None:
        with running_server(data, cpu=SERVER_CPU, args=("--controllers", "-*")) as server:
            yield server
        return
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = src
    try:
        started = running_server(data, cpu=SERVER_CPU, args=("--controllers", "-*"))
        server = started.__enter__()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        yield server
    finally:
        started.__exit__(None, None, None)


def _prepare(server: Server) -> None:
    with httpx.Client(
        base_url=server.https_url,
        verify=server.ca_file,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60,
    ) as client:
        for ns in ("create", "apply"):
            client.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()


def run(report: Run) -> None:
    baseline = os.environ.get("BENCH_BASELINE_SRC") or None
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=scratch)))
        after = stack.enter_context(_server(tmp / "after", None))
        _prepare(after)
        before = stack.enter_context(_server(tmp / "before", baseline)) if baseline else None
        if before is not None:
            _prepare(before)
        time.sleep(1.0)
        env = {"BENCH_NS": "apply", "BENCH_OBJECTS": str(OBJECTS)}
        run_wrk(after, "apply.lua", CLIENTS, env)  # creates the objects (first applies)
        applies = [run_wrk(after, "apply.lua", CLIENTS, env) for _ in range(ROUNDS)]
        assert all(r["failed"] == 0 for r in applies), "applies failed"
        report.add(
            Figure(
                f"server-side apply patches/s of Deployments, {CLIENTS} clients (real server)",
                "patches/s",
                [r["rate"] for r in applies],
            )
        )
        report.add(Figure("server-side apply p99", "ms", [r["p99"] for r in applies]))
        created: dict[str, list[float]] = {"before": [], "after": []}
        pairs = [("before", before), ("after", after)]
        for round_ in range(CREATE_ROUNDS):
            # Alternate which server goes first, so neither always follows the other's load.
            for label, server in pairs if round_ % 2 == 0 else pairs[::-1]:
                if server is None:
                    continue
                figures = run_wrk(server, "create.lua", CLIENTS, {"BENCH_NS": "create"})
                assert figures["failed"] == 0, "creates failed"
                created[label].append(figures["rate"])
        report.add(
            Figure(
                f"creates/s of 1 KiB ConfigMaps, {CLIENTS} clients, with managedFields",
                "creates/s",
                created["after"],
            )
        )
        if before is not None:
            report.add(
                Figure(
                    f"creates/s of 1 KiB ConfigMaps, {CLIENTS} clients, baseline (branch point)",
                    "creates/s",
                    created["before"],
                )
            )
            ratio = statistics.median(created["after"]) / statistics.median(created["before"])
            report.add(
                Figure("creates/s ratio with/without managedFields", "x", [ratio], at_least=0.75)
            )
    report.notes.append(
        f"Machine: `{' '.join(os.uname())}`, nproc {os.cpu_count()}. Real servers (subprocess, "
        "SQLite, TLS, `--controllers -*`) pinned to core 0, wrk on core 1; 5 s per round. "
        "Baseline: the branch point's `src` (BENCH_BASELINE_SRC), its server running beside "
        "this tree's, create rounds alternating between them (order flipped every round)."
    )
    print("  load generator: wrk pinned to core 1; servers pinned to core 0", flush=True)

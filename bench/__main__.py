"""`python -m bench [SUITE ...]`: run benchmark suites (all by default), record the figures."""

from __future__ import annotations

import sys

from bench import (
    api_bench,
    audit_bench,
    kube_bench,
    replicas_bench,
    startup_bench,
    storage_bench,
    workloads_bench,
)
from bench.report import Run

SUITES = {
    "storage": storage_bench.run,
    "startup": startup_bench.run,
    "api": api_bench.run,
    "kube": kube_bench.run,
    "workloads": workloads_bench.run,
    "secrets-audit": audit_bench.run,
    "replicas": replicas_bench.run,
}


def main(argv: list[str]) -> None:
    names = argv or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise SystemExit(f"bench: unknown suite {unknown[0]!r}; choose from {', '.join(SUITES)}")
    for name in names:
        print(f"{name}:", flush=True)
        report = Run()
        SUITES[name](report)
        print(f"  recorded in {report.write(name)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

"""`python -m bench [--datastore URL] [SUITE ...]`: run benchmark suites (all by
default), record the figures. ``--datastore`` runs the API suite on that
(empty) datastore, e.g. ``etcd://127.0.0.1:2379/bench``."""

from __future__ import annotations

import sys

from bench import (
    api_bench,
    audit_bench,
    authz_bench,
    clusters_bench,
    etcd_bench,
    identity_bench,
    kube_bench,
    kubectl_apply_bench,
    postgres_bench,
    proxy_bench,
    replicas_bench,
    ssa_bench,
    startup_bench,
    storage_bench,
    tunnel_bench,
    ui_bench,
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
    "kubectl-apply": kubectl_apply_bench.run,
    "identity": identity_bench.run,
    "authz": authz_bench.run,
    "ssa": ssa_bench.run,
    "etcd": etcd_bench.run,
    "postgres": postgres_bench.run,
    "replicas": replicas_bench.run,
    "tunnel": tunnel_bench.run,
    "proxy": proxy_bench.run,
    "clusters": clusters_bench.run,
    "ui": ui_bench.run,
}


def main(argv: list[str]) -> None:
    if "--datastore" in argv:
        at = argv.index("--datastore")
        if at + 1 >= len(argv):
            raise SystemExit("bench: --datastore needs a URL")
        api_bench.DATASTORE = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
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

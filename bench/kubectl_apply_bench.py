"""`kubectl apply -f` of a 200-object manifest: wall time of create, no-op and update.

Each round starts a fresh `corral server` with its default flags (every
built-in controller on, as users run it) and a fresh kubectl HOME (so the
first apply also pays kubectl's discovery and OpenAPI reads, as a user's first
apply does), then times three runs of the real kubectl: the first apply
creates every object, the second finds nothing to change, the third changes
a field of every object except the namespaces. The manifest mixes the kinds a
typical application ships (see `manifest`).
"""

from __future__ import annotations

import base64
import json
import os
import platform
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import Figure, Run
from bench.server import Server, running_server

ROUNDS = 3
GOAL_SECONDS = 5.0
NAMESPACES = 10
KUBECTL = "/usr/bin/kubectl"


def _namespaced(ns: str, i: int, version: str) -> list[dict[str, Any]]:
    """19 objects of an application in namespace `ns`; `version` is what the update changes."""
    labels = {"app": f"app-{i}", "release": version}
    meta = {"namespace": ns, "labels": labels}
    objects: list[dict[str, Any]] = []
    for j in range(4):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"config-{j}", **meta},
                "data": {"version": version, "settings.yaml": f"level: {j}\nname: app-{i}\n"},
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"secret-{j}", **meta},
                "type": "Opaque",
                # data, not stringData: kubectl re-sends stringData on every apply
                # ("configured" each time, kubernetes/kubernetes#87736), as upstream
                "data": {"password": base64.b64encode(f"pw-{i}-{j}-{version}".encode()).decode()},
            }
        )
    for j in range(3):
        name = f"web-{j}"
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, **meta},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "serviceAccountName": "runner",
                            "containers": [
                                {
                                    "name": "web",
                                    "image": f"nginx:{version}",
                                    "ports": [{"containerPort": 8080, "name": "http"}],
                                    "env": [
                                        {"name": "VERSION", "value": version},
                                        {"name": "NAMESPACE", "value": ns},
                                    ],
                                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                                }
                            ],
                        },
                    },
                },
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, **meta},
                "spec": {
                    "selector": {"app": name},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                },
            }
        )
    objects.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", **meta}}
    )
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    for j in range(2):
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": f"reader-{j}", **meta},
                "rules": rules,
            }
        )
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": f"reader-{j}", **meta},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": f"reader-{j}",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "runner", "namespace": ns}],
            }
        )
    return objects


def manifest(version: str) -> dict[str, Any]:
    """200 objects: 10 namespaces, each with 4 configmaps and 4 secrets, 3 deployments and
    services, a service account and 2 roles and role bindings (19 per namespace)."""
    items: list[dict[str, Any]] = []
    for i in range(NAMESPACES):
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{i}"}})
    for i in range(NAMESPACES):
        items.extend(_namespaced(f"bench-{i}", i, version))
    assert len(items) == 200
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _kubeconfig(server: Server, home: Path) -> Path:
    path = home / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "bench",
                        "cluster": {
                            "server": server.https_url,
                            "certificate-authority": server.ca_file,
                        },
                    }
                ],
                "users": [{"name": "admin", "user": {"token": server.token}}],
                "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "admin"}}],
                "current-context": "bench",
            }
        )
    )
    return path


@dataclass
class Timing:
    """One apply: wall time, kubectl's CPU time and the server's CPU time, in seconds."""

    wall: float
    kubectl_cpu: float
    server_cpu: float


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (its own, not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_apply(
    server: Server, kubeconfig: Path, home: Path, path: Path
) -> tuple[Timing, list[str]]:
    env = {**os.environ, "HOME": str(home)}
    env.pop("KUBECONFIG", None)
    server_before, kubectl_before = _cpu_seconds(server.proc.pid), _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "apply", "-f", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    timing = Timing(
        wall=time.perf_counter() - start,
        kubectl_cpu=_children_cpu() - kubectl_before,
        server_cpu=_cpu_seconds(server.proc.pid) - server_before,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl apply failed: {done.stderr[-2000:]}")
    return timing, done.stdout.splitlines()


def _round(tmp: Path, files: dict[str, Path]) -> tuple[Timing, Timing, Timing]:
    home = tmp / "home"
    home.mkdir()
    with running_server(tmp / "data") as server:
        kubeconfig = _kubeconfig(server, home)
        create, lines = _timed_apply(server, kubeconfig, home, files["v1"])
        assert sum(line.endswith(" created") for line in lines) == 200, lines
        noop, lines = _timed_apply(server, kubeconfig, home, files["v1"])
        assert all(line.endswith(" unchanged") for line in lines), lines
        update, lines = _timed_apply(server, kubeconfig, home, files["v2"])
        assert sum(line.endswith(" configured") for line in lines) == 190, lines
    return create, noop, update


def run(report: Run) -> None:
    """Median wall time of the three applies over fresh servers."""
    scratch = Path(__file__).parent / ".work"
    scratch.mkdir(exist_ok=True)
    load_before = os.getloadavg()[0]
    runs: dict[str, list[Timing]] = {
        "first (creates)": [],
        "second (no-op)": [],
        "third (190 changed)": [],
    }
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        files = {}
        for version in ("v1", "v2"):
            files[version] = Path(tmp) / f"manifest-{version}.json"
            files[version].write_text(json.dumps(manifest(version)))
        for i in range(ROUNDS):
            where = Path(tmp) / f"round-{i}"
            where.mkdir()
            for timings, timing in zip(runs.values(), _round(where, files), strict=True):
                timings.append(timing)
    for which, timings in runs.items():
        walls = [t.wall for t in timings]
        report.add(
            Figure(f"kubectl apply -f, 200 objects, {which}", "s", walls, at_most=GOAL_SECONDS)
        )
    for which, timings in runs.items():
        report.add(Figure(f"kubectl CPU, {which}", "s", [t.kubectl_cpu for t in timings]))
        report.add(Figure(f"server CPU, {which}", "s", [t.server_cpu for t in timings]))
    version = subprocess.run(
        [KUBECTL, "version", "--client", "-o", "json"], capture_output=True, text=True, check=False
    ).stdout
    client = json.loads(version or "{}").get("clientVersion", {}).get("gitVersion", "unknown")
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout
    uname = uname.strip() or " ".join(platform.uname())
    report.notes.extend(
        [
            f"uname -a: {uname}",
            f"nproc: {os.cpu_count()}",
            f"kubectl: {client} (the dispatcher's default; it picks the release from /version)",
            f"Load average (1 min) before / after the run: {load_before:.1f} / "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other sessions share them).",
            "Each round: a fresh server (default flags: all controllers on) and a fresh kubectl "
            "HOME, so the first apply includes kubectl's discovery and OpenAPI reads.",
            "Where the time goes: for every object that already exists, kubectl 1.32 "
            "unmarshals the whole OpenAPI v3 document of the object's group-version (twice: "
            "gvkSupportsPatchOpenAPIV3, then buildStrategicMergePatchFromOpenAPIV3; "
            "kubernetes/kubernetes#127095), so its own CPU time is the floor of the second and "
            "third applies whatever the server does; the server's CPU time is the server's "
            "whole share (controllers included). Wall time above CPU time is waiting for a core "
            "on a shared 2-core machine.",
        ]
    )

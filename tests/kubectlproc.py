"""Running the real kubectl against a test server, as a user would.

kubectl (``/usr/bin/kubectl``, a dispatcher that asks ``/version`` and runs
the matching release) gets the server's admin kubeconfig and a HOME of the
test's own, so its discovery cache starts empty and nothing leaks between
test modules or from the machine's own configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from serverproc import CorralServer

KUBECTL = "/usr/bin/kubectl"


def kubectl_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(home)}
    env.pop("KUBECONFIG", None)
    return env


def kubectl_argv(server: CorralServer, *args: str) -> list[str]:
    return [KUBECTL, "--kubeconfig", str(server.kubeconfig_path), *args]


def run_kubectl(
    server: CorralServer, home: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """kubectl's outcome, whatever it is."""
    return subprocess.run(
        kubectl_argv(server, *args),
        capture_output=True,
        text=True,
        env=kubectl_env(home),
        input=stdin or None,
        timeout=60,
    )


def kubectl_ok(server: CorralServer, home: Path, *args: str, stdin: str = "") -> str:
    """kubectl's output; the test fails with kubectl's stderr if it did not succeed."""
    done = run_kubectl(server, home, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def get_json(server: CorralServer, home: Path, *args: str) -> Any:
    """``kubectl get ARGS -o json``, parsed; the test fails if kubectl did not succeed."""
    return json.loads(kubectl_ok(server, home, "get", *args, "-o", "json"))


def get_json_or_none(server: CorralServer, home: Path, *args: str) -> dict[str, Any] | None:
    """``kubectl get ARGS -o json``, parsed; None when the object is not found."""
    done = run_kubectl(server, home, "get", *args, "-o", "json")
    if done.returncode != 0:
        assert "NotFound" in done.stderr or "not found" in done.stderr, done.stderr
        return None
    body: dict[str, Any] = json.loads(done.stdout)
    return body

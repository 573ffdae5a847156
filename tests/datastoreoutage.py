"""A datastore outage under a running ``corral server``, as an operator sees it.

Shared by the driver tests that have a real server to stop (PostgreSQL,
etcd): while the datastore is down ``/readyz`` fails naming the storage
check, a write is a 503 ServiceUnavailable and is never stored; once it is
back the server recovers by itself, and a watch opened before the outage
carries on. ``secret`` (a datastore password) must appear in none of it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from kubectlproc import get_json, kubectl_argv, kubectl_env, kubectl_ok
from serverproc import CorralServer

CMS = "/api/v1/namespaces/default/configmaps"
DEADLINE = 30.0


def configmap(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": name},
    }


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {DEADLINE}s")
        time.sleep(0.1)


def readyz(server: CorralServer) -> httpx.Response:
    return httpx.get(f"{server.http_url}/readyz?verbose", timeout=10)


def watch_lines(server: CorralServer, home: Path) -> subprocess.Popen[str]:
    """``kubectl get cm -w`` printing ``<TYPE> <name>`` a line."""
    return subprocess.Popen(
        [
            *kubectl_argv(server, "get", "cm", "-n", "default"),
            "-w",
            "--output-watch-events",
            "-o",
            'jsonpath={.type} {.object.metadata.name}{"\\n"}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(home),
    )


def next_named(watcher: subprocess.Popen[str], name: str) -> str:
    """The watch's next line about ``name``."""
    assert watcher.stdout is not None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        line = watcher.stdout.readline()
        if not line:
            raise AssertionError(
                f"the watch ended: {watcher.stderr.read() if watcher.stderr else ''}"
            )
        if line.split()[-1:] == [name]:
            return line.strip()
    raise AssertionError(f"no event for {name}")


def ride_out_an_outage(
    server: CorralServer,
    home: Path,
    stop: Callable[[], None],
    start: Callable[[], None],
    secret: str = "",
) -> None:
    """Stop the datastore under ``server``, check what users see, start it again."""
    kubectl_ok(server, home, "create", "configmap", "before", "--from-literal=k=v")
    watcher = watch_lines(server, home)
    try:
        assert next_named(watcher, "before") == "ADDED before"
        with server.client(server.token) as client:
            stop()
            until(lambda: readyz(server).status_code != 200, "readyz failing")
            shown = readyz(server).text
            assert "[-]storage failed" in shown
            assert not secret or secret not in shown

            refused = client.post(CMS, json=configmap("during"))
            assert refused.status_code == 503, refused.text
            status = refused.json()
            assert status["reason"] == "ServiceUnavailable"
            assert "datastore is unreachable" in status["message"]
            assert not secret or secret not in refused.text

            start()
            until(lambda: readyz(server).status_code == 200, "readyz passing again")
            created = client.post(CMS, json=configmap("after"))
            assert created.status_code == 201, created.text
        # The watch started before the outage carries on, without the refused write.
        assert next_named(watcher, "after") == "ADDED after"
    finally:
        watcher.kill()
        watcher.wait()
    names = [item["metadata"]["name"] for item in get_json(server, home, "cm")["items"]]
    assert "during" not in names
    assert {"before", "after"} <= set(names)
    assert not secret or secret not in server.stderr()

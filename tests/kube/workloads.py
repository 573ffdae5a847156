"""Helpers for the Deployment and ReplicaSet tests against a real server.

`Api` is a small synchronous JSON client over the server's HTTPS port (the
tests run kubectl in subprocesses, so they are synchronous too).
`FakeKubelet` stands in for the scheduler and the node agent until those
land: a thread that binds the namespace's pods to a node (``spec.nodeName``),
reports them ``Running`` with a ``Ready`` condition, and finishes graceful
deletions (``gracePeriodSeconds=0``) as a kubelet does once containers stop.
Clearing ``enabled`` holds it: new pods then stay Pending.
`wait_for` polls a condition with a deadline; no test sleeps a fixed time.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx

from polling import poll
from serverproc import CorralServer

Obj = dict[str, Any]

APPS = "/apis/apps/v1"
CORE = "/api/v1"
MERGE = {"Content-Type": "application/merge-patch+json"}


wait_for = partial(poll, interval=0.05)


class Api:
    """Just enough of the API for the tests: JSON in, JSON out, errors raise."""

    def __init__(self, server: CorralServer) -> None:
        self.http = server.client(server.token)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> Obj:
        response = self.http.get(path)
        response.raise_for_status()
        body: Obj = response.json()
        return body

    def maybe(self, path: str) -> Obj | None:
        response = self.http.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: Obj = response.json()
        return body

    def items(self, path: str, selector: str = "") -> list[Obj]:
        params = {"labelSelector": selector} if selector else {}
        response = self.http.get(path, params=params)
        response.raise_for_status()
        items: list[Obj] = response.json()["items"]
        return items

    def create(self, path: str, body: Obj) -> Obj:
        response = self.http.post(path, json=body)
        assert response.status_code == 201, response.text
        created: Obj = response.json()
        return created

    def patch(self, path: str, body: Obj) -> Obj:
        response = self.http.patch(path, json=body, headers=MERGE)
        assert response.status_code == 200, response.text
        patched: Obj = response.json()
        return patched

    def delete(self, path: str, grace: int | None = None) -> int:
        params = {"gracePeriodSeconds": str(grace)} if grace is not None else {}
        return self.http.delete(path, params=params).status_code

    def new_namespace(self) -> str:
        name = "t-" + uuid.uuid4().hex[:8]
        self.create(f"{CORE}/namespaces", {"metadata": {"name": name}})
        return name

    # -- workload shortcuts ----------------------------------------------------

    def deployment(self, ns: str, name: str) -> Obj:
        return self.get(f"{APPS}/namespaces/{ns}/deployments/{name}")

    def replica_sets(self, ns: str, selector: str = "") -> list[Obj]:
        return self.items(f"{APPS}/namespaces/{ns}/replicasets", selector)

    def pods(self, ns: str, selector: str = "") -> list[Obj]:
        return self.items(f"{CORE}/namespaces/{ns}/pods", selector)

    def active_pods(self, ns: str, selector: str = "") -> list[Obj]:
        return [
            p
            for p in self.pods(ns, selector)
            if not p["metadata"].get("deletionTimestamp")
            and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")
        ]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions") or []
    )


def make_ready(api: Api, pod: Obj, node: str = "node-1") -> None:
    """What a scheduler and kubelet would do: bind the pod, report it Running and Ready."""
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    path = f"{CORE}/namespaces/{ns}/pods/{name}"
    if not pod.get("spec", {}).get("nodeName"):
        api.patch(path, {"spec": {"nodeName": node}})
    stamp = now()
    conditions = [
        {"type": kind, "status": "True", "lastTransitionTime": stamp}
        for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
    ]
    containers = [
        {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": f"docker.io/library/{c.get('image', '')}",
            "ready": True,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": stamp}},
        }
        for c in pod.get("spec", {}).get("containers") or []
    ]
    status = {
        "phase": "Running",
        "conditions": conditions,
        "startTime": stamp,
        "containerStatuses": containers,
    }
    api.patch(f"{path}/status", {"status": status})


class FakeKubelet:
    """A thread making the namespace's pods ready (while enabled) and finishing deletions."""

    def __init__(self, server: CorralServer, namespace: str) -> None:
        self.api = Api(server)
        self.namespace = namespace
        self.enabled = threading.Event()
        self.enabled.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.errors: list[str] = []

    def __enter__(self) -> FakeKubelet:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.api.close()
        invalid = [e for e in self.errors if '"code":422' in e]
        assert not invalid, f"the fake kubelet's writes were refused: {invalid[0]}"

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._pass()
            except (httpx.HTTPError, AssertionError) as exc:  # a pod gone meanwhile
                self.errors.append(str(exc))
            self._stop.wait(0.1)

    def _pass(self) -> None:
        for pod in self.api.pods(self.namespace):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                path = f"{CORE}/namespaces/{self.namespace}/pods/{meta['name']}"
                self.api.delete(path, grace=0)
                continue
            if self.enabled.is_set() and not is_ready(pod):
                make_ready(self.api, pod)

"""Helpers for the Job and CronJob tests against a real server.

`TestKubelet` stands in for the node agent: it polls the namespace's pods
and reports each one Running and Ready, then — when the pod carries the
simulated node's annotation ``corral.io/simulate-exit-code`` (optionally
after ``corral.io/simulate-run-seconds``) — terminated with that exit code:
``Succeeded`` for 0, ``Failed`` otherwise, with container statuses and
finish times as a kubelet writes them. It records the most pods it ever saw
running at once. `job_body` is a Job whose pods `TestKubelet` (or a
simulated node) finishes with the exit code given; `wait_for_job`
runs ``kubectl wait`` for a Job off the event loop.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corral.client import Client
from corral.kube.resources import EVENTS, NAMESPACES, PODS
from corral.machinery.status import NotFound, StatusError
from kubectlproc import run_kubectl
from serverproc import CorralServer

Obj = dict[str, Any]
EXIT_CODE = "corral.io/simulate-exit-code"
RUN_SECONDS = "corral.io/simulate-run-seconds"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestKubelet:
    """Runs the pods of one namespace in name only (see the module docstring)."""

    __test__ = False

    def __init__(self, client: Client, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.started: dict[str, float] = {}
        self.max_running = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TestKubelet:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def _loop(self) -> None:
        while True:
            with suppress(StatusError):  # a pod gone meanwhile
                await self._pass()
            await asyncio.sleep(0.05)

    async def _pass(self) -> None:
        listed = await self.client.list(PODS, namespace=self.namespace)
        running = 0
        for pod in listed.get("items") or []:
            meta, status = pod["metadata"], pod.get("status") or {}
            phase = status.get("phase")
            if phase in ("Succeeded", "Failed") or meta.get("deletionTimestamp"):
                continue
            running += 1
            if phase != "Running":
                await self._set(pod, self._running(pod))
                self.started[meta["uid"]] = time.monotonic()
                continue
            code = (meta.get("annotations") or {}).get(EXIT_CODE)
            if code is None:
                continue
            seconds = float((meta.get("annotations") or {}).get(RUN_SECONDS, "0"))
            if time.monotonic() - self.started.get(meta["uid"], 0.0) >= seconds:
                await self._set(pod, self._terminated(pod, int(code)))
        self.max_running = max(self.max_running, running)

    async def _set(self, pod: Obj, status: Obj) -> None:
        meta = pod["metadata"]
        with suppress(NotFound):
            await self.client.patch(
                PODS,
                meta["name"],
                {"status": status},
                namespace=meta["namespace"],
                subresource="status",
            )

    @staticmethod
    def _running(pod: Obj) -> Obj:
        now = stamp()
        return {
            "phase": "Running",
            "startTime": now,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": now}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
                for c in pod["spec"].get("containers") or []
            ],
        }

    @staticmethod
    def _terminated(pod: Obj, code: int) -> Obj:
        now = stamp()
        started = (pod.get("status") or {}).get("startTime") or now
        return {
            "phase": "Succeeded" if code == 0 else "Failed",
            "conditions": [
                {"type": t, "status": "False", "reason": "PodCompleted", "lastTransitionTime": now}
                for t in ("ContainersReady", "Ready")
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "state": {
                        "terminated": {
                            "exitCode": code,
                            "reason": "Completed" if code == 0 else "Error",
                            "startedAt": started,
                            "finishedAt": now,
                        }
                    },
                }
                for c in pod["spec"].get("containers") or []
            ],
        }


async def new_namespace(client: Client, prefix: str) -> str:
    created = await client.create(NAMESPACES, {"metadata": {"generateName": prefix}})
    name: str = created["metadata"]["name"]
    return name


async def events(client: Client, namespace: str, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Events about object ``name``."""
    listed = await client.list(EVENTS, namespace=namespace)
    return [
        (e.get("type", ""), e.get("reason", ""), e.get("message", ""))
        for e in listed.get("items") or []
        if (e.get("involvedObject") or {}).get("name") == name
    ]


async def event_count(client: Client, namespace: str, name: str, reason: str) -> int:
    """How many times an Event of ``reason`` about ``name`` was recorded (repeats included)."""
    listed = await client.list(EVENTS, namespace=namespace)
    return sum(
        int(e.get("count") or 1)
        for e in listed.get("items") or []
        if (e.get("involvedObject") or {}).get("name") == name and e.get("reason") == reason
    )


def job_body(name: str, *, exit_code: int | None = 0, **spec: Any) -> Obj:
    annotations = {EXIT_CODE: str(exit_code)} if exit_code is not None else {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "work", "image": "busybox"}],
                },
            },
            **spec,
        },
    }


async def no_pods(client: Client, namespace: str) -> bool:
    return not (await client.list(PODS, namespace=namespace))["items"]


async def wait_for_job(
    server: CorralServer, home: Path, ns: str, name: str, condition: str
) -> tuple[int, str]:
    """``kubectl wait --for=condition=<condition> job/<name>`` (60 s), as a user would,
    off the event loop: kubectl's exit code and output."""
    done = await asyncio.to_thread(
        run_kubectl,
        server,
        home,
        "wait",
        "-n",
        ns,
        f"--for=condition={condition}",
        f"job/{name}",
        "--timeout=60s",
    )
    return done.returncode, done.stdout + done.stderr

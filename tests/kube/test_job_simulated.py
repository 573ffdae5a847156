"""A Job run end to end on a simulated node: the server schedules its pods and
its simulated node runs them ("in name only"), finishing each with the exit
code of its ``corral.io/simulate-exit-code`` annotation; the job controller
runs in this process. kubectl waits for the Job as a user would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from corral.client import Client
from corral.kube import job as job_module
from corral.kube.context import KubeOptions
from corral.kube.resources import JOBS, PODS
from kubectlproc import run_kubectl
from serverproc import CorralServer, running_server

from .jobkubelet import EXIT_CODE, new_context, new_namespace, running

ARGS = [
    "--simulate-nodes",
    "1",
    "--controllers",
    "scheduler,garbagecollector",
    "--leader-elect-lease-duration",
    "4s",
    "--leader-elect-renew-deadline",
    "3s",
    "--leader-elect-retry-period",
    "500ms",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    with running_server(tmp_path_factory.mktemp("jobsim") / "data", ARGS) as srv:
        yield srv


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as c:
        ctx = new_context(c, options=KubeOptions(job_backoff=0.2, job_backoff_max=1.0))
        async with running(ctx, job_module.build(ctx)):
            yield c


async def test_job_completes_on_a_simulated_node(
    server: CorralServer, client: Client, tmp_path: Path
) -> None:
    ns = await new_namespace(client, "jobsim-")
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "sim"},
        "spec": {
            "completions": 3,
            "parallelism": 2,
            "template": {
                "metadata": {"annotations": {EXIT_CODE: "0"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "work", "image": "busybox"}],
                },
            },
        },
    }
    await client.create(JOBS, body, namespace=ns)
    done = await asyncio.to_thread(
        run_kubectl,
        server,
        tmp_path,
        "wait",
        "-n",
        ns,
        "--for=condition=complete",
        "job/sim",
        "--timeout=60s",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    job = await client.get(JOBS, "sim", namespace=ns)
    assert job["status"]["succeeded"] == 3
    pods = (await client.list(PODS, namespace=ns))["items"]
    assert len(pods) == 3
    for pod in pods:
        assert pod["spec"]["nodeName"]
        assert pod["status"]["phase"] == "Succeeded"
        assert not pod["metadata"].get("finalizers")

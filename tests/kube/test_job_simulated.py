"""A Job run end to end on a simulated node: the server schedules its pods and
its simulated node runs them ("in name only"), finishing each with the exit
code of its ``corral.io/simulate-exit-code`` annotation; the job controller
runs in this process. kubectl waits for the Job as a user would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controllerthread import new_context, running
from corral.client import Client
from corral.kube import job as job_module
from corral.kube.context import KubeOptions
from corral.kube.resources import JOBS, PODS
from serverproc import CorralServer, controller_args, module_server

from .jobkubelet import job_body, new_namespace, wait_for_job

server = module_server(
    "jobsim", controller_args("scheduler,garbagecollector", "--simulate-nodes", "1")
)


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
    await client.create(JOBS, job_body("sim", completions=3, parallelism=2), namespace=ns)
    code, out = await wait_for_job(server, tmp_path, ns, "sim", "complete")
    assert code == 0, out
    job = await client.get(JOBS, "sim", namespace=ns)
    assert job["status"]["succeeded"] == 3
    pods = (await client.list(PODS, namespace=ns))["items"]
    assert len(pods) == 3
    for pod in pods:
        assert pod["spec"]["nodeName"]
        assert pod["status"]["phase"] == "Succeeded"
        assert not pod["metadata"].get("finalizers")

"""The Job controller against a real ``corral server``, run in this process.

One server for the module (only its garbage collector runs, which the TTL
controller's Foreground deletion needs); every test runs the job and
TTL-after-finished controllers here through an HTTP client, with back-off
shortened to 0.2 s, and `TestKubelet` playing the node: pods finish with the
exit code of their ``corral.io/simulate-exit-code`` annotation. kubectl
waits as a user would. No fixed sleeps: every wait polls with a deadline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from controllerthread import new_context, running
from corral.client import Client
from corral.kube import job as job_module
from corral.kube.context import KubeContext, KubeOptions
from corral.kube.resources import JOBS, PODS
from corral.machinery.status import NotFound
from polling import eventually
from serverproc import CorralServer, controller_args, module_server

from .jobkubelet import TestKubelet, events, job_body, new_namespace, no_pods, wait_for_job

Obj = dict[str, Any]


server = module_server("job", controller_args("garbagecollector"))


@pytest.fixture
async def client(server: CorralServer) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(server.kubeconfig_path) as c:
        yield c


@pytest.fixture
async def ctx(client: Client) -> AsyncIterator[KubeContext]:
    context = new_context(client, options=KubeOptions(job_backoff=0.2, job_backoff_max=1.0))
    async with running(context, job_module.build(context)):
        yield context


async def get_job(client: Client, ns: str, name: str) -> Obj | None:
    try:
        return await client.get(JOBS, name, namespace=ns)
    except NotFound:
        return None


def condition_types(job: Obj) -> list[str]:
    return [c["type"] for c in job.get("status", {}).get("conditions") or []]


async def test_completions_three_parallelism_two_completes(
    server: CorralServer, client: Client, ctx: KubeContext, tmp_path: Path
) -> None:
    ns = await new_namespace(client, "job-")
    async with TestKubelet(client, ns) as kubelet:
        created = await client.create(
            JOBS, job_body("pi", completions=3, parallelism=2), namespace=ns
        )
        code, out = await wait_for_job(server, tmp_path, ns, "pi", "complete")
        assert code == 0, out
        assert "job.batch/pi condition met" in out
    assert kubelet.max_running <= 2
    job = await get_job(client, ns, "pi")
    assert job is not None
    status = job["status"]
    assert status["succeeded"] == 3
    assert "active" not in status
    assert "failed" not in status
    assert status["ready"] == 0
    assert status["terminating"] == 0
    assert status["uncountedTerminatedPods"] == {}
    assert status["startTime"] <= status["completionTime"]
    assert condition_types(job) == ["SuccessCriteriaMet", "Complete"]
    for c in status["conditions"]:
        assert c["status"] == "True"
        assert c["reason"] == "CompletionsReached"
        assert c["message"] == "Reached expected number of succeeded pods"
    pods = (await client.list(PODS, namespace=ns))["items"]
    assert len(pods) == 3
    uid = created["metadata"]["uid"]
    for pod in pods:
        meta = pod["metadata"]
        assert pod["status"]["phase"] == "Succeeded"
        assert meta["generateName"] == "pi-"
        assert "batch.kubernetes.io/job-tracking" not in (meta.get("finalizers") or [])
        assert meta["labels"]["batch.kubernetes.io/controller-uid"] == uid
        assert meta["labels"]["batch.kubernetes.io/job-name"] == "pi"
        assert meta["labels"]["controller-uid"] == uid
        assert meta["labels"]["job-name"] == "pi"
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": "pi",
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]

    async def recorded() -> list[tuple[str, str, str]]:
        seen = await events(client, ns, "pi")
        return seen if ("Normal", "Completed", "Job completed") in seen else []

    seen = await eventually(recorded, "the Completed event")
    assert sum(1 for e in seen if e[1] == "SuccessfulCreate") == 3


async def test_failing_job_reaches_its_backoff_limit(
    server: CorralServer, client: Client, ctx: KubeContext, tmp_path: Path
) -> None:
    ns = await new_namespace(client, "job-")
    async with TestKubelet(client, ns):
        await client.create(JOBS, job_body("boom", exit_code=1, backoffLimit=2), namespace=ns)
        code, out = await wait_for_job(server, tmp_path, ns, "boom", "failed")
        assert code == 0, out
    job = await get_job(client, ns, "boom")
    assert job is not None
    status = job["status"]
    assert status["failed"] == 3  # the first try and two retries
    assert "succeeded" not in status
    assert "completionTime" not in status
    assert condition_types(job) == ["FailureTarget", "Failed"]
    for c in status["conditions"]:
        assert c["reason"] == "BackoffLimitExceeded"
        assert c["message"] == "Job has reached the specified backoff limit"
    pods = (await client.list(PODS, namespace=ns))["items"]
    assert len(pods) == 3
    assert {p["status"]["phase"] for p in pods} == {"Failed"}

    async def recorded() -> bool:
        return (
            "Warning",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ) in (await events(client, ns, "boom"))

    await eventually(recorded, "the BackoffLimitExceeded event")


async def test_active_deadline_fails_the_job_and_stops_its_pods(
    client: Client, ctx: KubeContext
) -> None:
    ns = await new_namespace(client, "job-")
    async with TestKubelet(client, ns):
        await client.create(
            JOBS,
            job_body("slow", exit_code=None, parallelism=2, activeDeadlineSeconds=2),
            namespace=ns,
        )

        async def failed() -> Obj | None:
            job = await get_job(client, ns, "slow")
            return job if job and "Failed" in condition_types(job) else None

        job = await eventually(failed, "the job failed at its deadline")
    failure = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failure["reason"] == "DeadlineExceeded"
    assert failure["message"] == "Job was active longer than specified deadline"
    assert job["status"]["failed"] == 2
    assert "active" not in job["status"]

    await eventually(lambda: no_pods(client, ns), "the running pods deleted")


async def test_ttl_after_finished_deletes_the_job(client: Client, ctx: KubeContext) -> None:
    ns = await new_namespace(client, "job-")
    async with TestKubelet(client, ns):
        await client.create(JOBS, job_body("brief", ttlSecondsAfterFinished=1), namespace=ns)

        async def complete() -> bool:
            job = await get_job(client, ns, "brief")
            return job is not None and "Complete" in condition_types(job)

        await eventually(complete, "the job completes")

        async def gone() -> bool:
            return await get_job(client, ns, "brief") is None

        await eventually(gone, "the job deleted after its TTL", deadline=30)

    await eventually(lambda: no_pods(client, ns), "its pods deleted with it")


async def test_indexed_job_runs_each_index_once(client: Client, ctx: KubeContext) -> None:
    ns = await new_namespace(client, "job-")
    async with TestKubelet(client, ns):
        await client.create(
            JOBS,
            job_body("idx", completions=3, parallelism=3, completionMode="Indexed"),
            namespace=ns,
        )

        async def complete() -> Obj | None:
            job = await get_job(client, ns, "idx")
            return job if job and "Complete" in condition_types(job) else None

        job = await eventually(complete, "the indexed job completes")
    assert job["status"]["completedIndexes"] == "0-2"
    assert job["status"]["succeeded"] == 3
    pods = (await client.list(PODS, namespace=ns))["items"]
    indexes = sorted(
        p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods
    )
    assert indexes == ["0", "1", "2"]
    for pod in pods:
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == index
        assert pod["metadata"]["generateName"] == f"idx-{index}-"
        assert pod["spec"]["hostname"] == f"idx-{index}"
        env = pod["spec"]["containers"][0]["env"]
        assert env[0]["name"] == "JOB_COMPLETION_INDEX"


async def test_suspended_job_starts_when_resumed(client: Client, ctx: KubeContext) -> None:
    ns = await new_namespace(client, "job-")
    async with TestKubelet(client, ns):
        await client.create(JOBS, job_body("later", suspend=True), namespace=ns)

        async def suspended() -> Obj | None:
            job = await get_job(client, ns, "later")
            return job if job and "Suspended" in condition_types(job) else None

        job = await eventually(suspended, "the Suspended condition")
        assert "startTime" not in job["status"]
        assert await no_pods(client, ns)
        await client.patch(JOBS, "later", {"spec": {"suspend": False}}, namespace=ns)

        async def complete() -> Obj | None:
            job = await get_job(client, ns, "later")
            return job if job and "Complete" in condition_types(job) else None

        job = await eventually(complete, "the resumed job completes")
    resumed = next(c for c in job["status"]["conditions"] if c["type"] == "Suspended")
    assert (resumed["status"], resumed["reason"]) == ("False", "JobResumed")
    assert job["status"]["succeeded"] == 1


async def test_deleting_a_running_job_releases_its_pods(client: Client, ctx: KubeContext) -> None:
    ns = await new_namespace(client, "job-")
    async with TestKubelet(client, ns):
        await client.create(JOBS, job_body("endless", exit_code=None), namespace=ns)

        async def running_pod() -> list[Obj]:
            pods = (await client.list(PODS, namespace=ns))["items"]
            return [p for p in pods if p.get("status", {}).get("phase") == "Running"]

        pods = await eventually(running_pod, "a running pod")
        assert "batch.kubernetes.io/job-tracking" in pods[0]["metadata"]["finalizers"]
        await client.delete(JOBS, "endless", namespace=ns, propagation_policy="Background")

        # the garbage collector deletes the pod; the job controller drops the finalizer
        await eventually(lambda: no_pods(client, ns), "the orphaned pod released and gone")

"""Deploying and operating workloads from the console, without YAML.

The workload form in a real browser creates a Deployment (and a Service)
that the API then holds exactly as filled in; its own checks stop the
obvious mistakes before any request, and the server's Status causes appear
at the field they name. Redeploy and roll back from the list change the
Deployment as ``kubectl rollout restart`` / ``undo`` would.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from .explorerfixtures import Console, browser, console, ui_server

__all__ = ["browser", "console", "ui_server"]

pytestmark = pytest.mark.timeout(180)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def until(check: Callable[[], Any], what: str, deadline: float = 20.0) -> Any:
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < end, f"not met in {deadline:g}s: {what}"
        time.sleep(0.1)


def test_deploy_a_workload_and_its_service_with_the_form(console: Console) -> None:
    ns, name = unique("form"), unique("web")
    console.goto_ready("/c/local/deploy", "page-deploy")
    page = console.page
    page.get_by_test_id("f-name").fill(name)
    page.get_by_test_id("f-namespace").select_option("+new")
    page.get_by_test_id("f-new-namespace").fill(ns)
    page.get_by_test_id("f-image").fill("nginx:1.27")
    page.get_by_test_id("f-replicas").fill("2")
    page.get_by_test_id("add-port").click()
    page.get_by_test_id("f-port-name-0").fill("http")
    page.get_by_test_id("f-port-0").fill("80")
    page.get_by_test_id("add-env").click()
    page.get_by_test_id("f-env-key-0").fill("GREETING")
    page.get_by_test_id("f-env-value-0").fill("hello <b>world</b>")
    page.get_by_test_id("f-cpu-request").fill("100m")
    page.get_by_test_id("f-memory-limit").fill("128Mi")
    page.get_by_test_id("f-command").fill("nginx\n-g")
    page.get_by_test_id("f-args").fill("daemon off;")
    page.get_by_test_id("f-service").check()
    page.get_by_test_id("f-service-type").select_option("NodePort")
    page.get_by_test_id("f-service-port-0").fill("8080")
    console.screenshot("workload-form")
    page.get_by_test_id("deploy-submit").click()
    page.wait_for_url(re.compile(f"/c/local/explorer/apps.v1.deployments/{ns}/{name}"))
    console.wait_ready("page-resource-detail")

    with console.kube() as kube:
        deployment = kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}").json()
        service = kube.get(f"/api/v1/namespaces/{ns}/services/{name}").json()
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": name}}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["ports"] == [{"name": "http", "containerPort": 80, "protocol": "TCP"}]
    assert container["env"] == [{"name": "GREETING", "value": "hello <b>world</b>"}]
    assert container["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "128Mi"}}
    assert container["command"] == ["nginx", "-g"]
    assert container["args"] == ["daemon off;"]
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["selector"] == {"app": name}
    [port] = service["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("http", 8080, 80)
    assert 30000 <= port["nodePort"] <= 32767


def test_the_form_stops_obvious_mistakes_and_shows_server_causes_at_the_field(
    console: Console,
) -> None:
    console.goto_ready("/c/local/deploy?namespace=default", "page-deploy")
    page = console.page
    page.get_by_test_id("f-name").fill("Not_A_Name")
    page.get_by_test_id("deploy-submit").click()
    assert "lower-case" in page.get_by_test_id("err-name").inner_text()
    assert "image is required" in page.get_by_test_id("err-image").inner_text()
    with console.kube() as kube:
        assert (
            kube.get("/apis/apps/v1/namespaces/default/deployments/Not_A_Name").status_code == 404
        )

    name = unique("cpu")
    page.get_by_test_id("f-name").fill(name)
    page.get_by_test_id("f-image").fill("nginx")
    page.get_by_test_id("f-cpu-request").fill("lots")
    console.expect_http_error(422)
    page.get_by_test_id("deploy-submit").click()
    cause = page.get_by_test_id("err-resources")
    cause.wait_for()
    assert "quantities must match" in cause.inner_text()
    assert page.get_by_test_id("err-name").count() == 0
    with console.kube() as kube:
        assert kube.get(f"/apis/apps/v1/namespaces/default/deployments/{name}").status_code == 404


def test_roll_back_and_redeploy_from_the_list(console: Console) -> None:
    ns = unique("rollout")
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    with console.kube() as kube:
        kube.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        labels = {"app": "web"}
        body = {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                },
            },
        }
        kube.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=body).raise_for_status()
        until(
            lambda: (
                kube.get(path)
                .json()["metadata"]
                .get("annotations", {})
                .get("deployment.kubernetes.io/revision")
                == "1"
            ),
            "revision 1",
        )
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}
        }
        kube.patch(
            path, json=patch, headers={"content-type": "application/strategic-merge-patch+json"}
        )
        until(
            lambda: (
                kube.get(path)
                .json()["metadata"]
                .get("annotations", {})
                .get("deployment.kubernetes.io/revision")
                == "2"
            ),
            "revision 2",
        )

    console.goto_ready(
        f"/c/local/explorer/apps.v1.deployments?namespace={ns}", "page-resource-list"
    )
    row = console.page.locator('[data-testid="row"][data-name="web"]')
    row.get_by_test_id("rollback").click()
    assert "back to revision 1" in console.page.get_by_test_id("notice").inner_text()

    def image() -> str:
        with console.kube() as kube:
            return str(kube.get(path).json()["spec"]["template"]["spec"]["containers"][0]["image"])

    assert image() == "nginx:1.27"

    row.get_by_test_id("redeploy").click()
    console.page.get_by_text("Redeploying web.").wait_for()
    with console.kube() as kube:
        template = kube.get(path).json()["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    assert template["spec"]["containers"][0]["image"] == "nginx:1.27"
    with console.kube() as kube:
        until(lambda: rolled_out(kube.get(path).json()), "the redeployed Deployment is rolled out")


def rolled_out(deployment: dict[str, Any]) -> bool:
    """The rollout is over (waited for at the end: a server stopped while pods are
    being replaced may hang on SIGTERM, a shutdown race outside the console)."""
    status = deployment.get("status", {})
    want = deployment["spec"]["replicas"]
    return bool(
        status.get("observedGeneration") == deployment["metadata"]["generation"]
        and status.get("replicas") == status.get("updatedReplicas") == want
        and status.get("availableReplicas") == want
    )


def test_roll_back_a_statefulset_from_the_list(console: Console) -> None:
    ns = unique("sts")
    path = f"/apis/apps/v1/namespaces/{ns}/statefulsets/db"
    revisions = f"/apis/apps/v1/namespaces/{ns}/controllerrevisions"
    with console.kube() as kube:
        kube.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        labels = {"app": "db"}
        body = {
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 1,
                "serviceName": "db",
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
                },
            },
        }
        kube.post(f"/apis/apps/v1/namespaces/{ns}/statefulsets", json=body).raise_for_status()
        until(lambda: len(kube.get(revisions).json()["items"]) == 1, "the first revision")
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}}
        }
        kube.patch(path, json=patch, headers={"content-type": "application/merge-patch+json"})
        until(lambda: len(kube.get(revisions).json()["items"]) == 2, "the second revision")

    console.goto_ready(
        f"/c/local/explorer/apps.v1.statefulsets?namespace={ns}", "page-resource-list"
    )
    console.page.locator('[data-testid="row"][data-name="db"]').get_by_test_id("rollback").click()
    assert "back to revision 1" in console.page.get_by_test_id("notice").inner_text()
    with console.kube() as kube:
        template = kube.get(path).json()["spec"]["template"]
        assert template["spec"]["containers"][0]["image"] == "postgres:16"

        # Let the rollout settle: a server stopped while a StatefulSet replaces
        # its pod may hang on SIGTERM (a shutdown race outside the console).
        def settled() -> bool:
            status = kube.get(path).json().get("status", {})
            return bool(
                status.get("currentRevision") == status.get("updateRevision")
                and status.get("readyReplicas") == 1
            )

        until(settled, "the rolled-back StatefulSet is ready")

"""The defaults Kubernetes 1.32 applies, as ``kubectl get -o yaml`` shows them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from corral.machinery.validation import strategy_for
from corral.machinery.validation.defaults_pod import image_pull_policy


def defaulted(group: str, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
    strategy_for(group, resource).default(obj)
    return obj


def container(**extra: Any) -> dict[str, Any]:
    return {"name": "app", "image": "nginx:1.27", **extra}


def template(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [container()], **spec},
    }


POD_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}
CONTAINER_DEFAULTS = {
    "imagePullPolicy": "IfNotPresent",
    "resources": {},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("registry:5000/team/nginx", "Always"),
        ("registry:5000/team/nginx:1.2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_pod_defaults() -> None:
    probe = {"httpGet": {"port": 8080}}
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "containers": [
                container(
                    ports=[{"containerPort": 80}],
                    livenessProbe=probe,
                    resources={"limits": {"cpu": "1", "memory": "1Gi"}},
                    env=[
                        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                    ],
                )
            ],
            "volumes": [
                {"name": "s", "secret": {"secretName": "s"}},
                {"name": "c", "configMap": {"name": "c"}},
                {"name": "scratch"},
            ],
        },
    }
    spec = defaulted("", "pods", pod)["spec"]
    for key, value in POD_SPEC_DEFAULTS.items():
        assert spec[key] == value
    assert spec["enableServiceLinks"] is True
    assert spec["priority"] == 0
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["tolerations"] == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert c["livenessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert spec["volumes"] == [
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "c", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {}},
    ]
    assert pod["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


def test_pod_defaults_keep_given_values() -> None:
    pod: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": {
            "containers": [container(imagePullPolicy="Never", resources={"limits": {"cpu": "1"}})],
            "restartPolicy": "Never",
            "priorityClassName": "high",
            "tolerations": [{"operator": "Exists"}],
        },
    }
    spec = defaulted("", "pods", pod)["spec"]
    assert spec["restartPolicy"] == "Never"
    assert "priority" not in spec
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert pod["status"]["qosClass"] == "Burstable"


def test_deployment_defaults() -> None:
    dep = defaulted("apps", "deployments", {"spec": {"template": template()}})
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod_spec = spec["template"]["spec"]
    for key, value in POD_SPEC_DEFAULTS.items():
        assert pod_spec[key] == value
    # Pod-only defaults stay out of templates, as in Kubernetes.
    assert "enableServiceLinks" not in pod_spec
    assert "priority" not in pod_spec
    assert pod_spec["containers"][0] == {**container(), **CONTAINER_DEFAULTS}


def test_recreate_deployments_get_no_rolling_update() -> None:
    dep = defaulted("apps", "deployments", {"spec": {"strategy": {"type": "Recreate"}}})
    assert dep["spec"]["strategy"] == {"type": "Recreate"}


def test_replica_set_defaults() -> None:
    rs = defaulted("apps", "replicasets", {"spec": {"template": template()}})
    assert rs["spec"]["replicas"] == 1
    assert rs["spec"]["template"]["spec"]["restartPolicy"] == "Always"


def test_stateful_set_defaults() -> None:
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    sts = defaulted(
        "apps",
        "statefulsets",
        {"spec": {"serviceName": "db", "template": template(), "volumeClaimTemplates": [claim]}},
    )
    spec = sts["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert spec["serviceName"] == "db"
    assert spec["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert spec["volumeClaimTemplates"][0]["status"] == {"phase": "Pending"}


def test_daemon_set_defaults() -> None:
    ds = defaulted("apps", "daemonsets", {"spec": {"template": template()}})
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert ds["spec"]["revisionHistoryLimit"] == 10


def test_job_defaults_and_generated_selector() -> None:
    job: dict[str, Any] = {
        "metadata": {"name": "pi", "namespace": "default", "uid": "1234"},
        "spec": {"template": {"spec": {"containers": [container()], "restartPolicy": "Never"}}},
    }
    spec = defaulted("batch", "jobs", job)["spec"]
    assert spec["completions"] == 1
    assert spec["parallelism"] == 1
    assert spec["backoffLimit"] == 6
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    assert spec["manualSelector"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "1234"}}
    labels = {
        "batch.kubernetes.io/controller-uid": "1234",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "1234",
        "job-name": "pi",
    }
    assert spec["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["labels"] == labels
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_job_parallelism_alone_leaves_completions_unset() -> None:
    job = defaulted("batch", "jobs", {"metadata": {"name": "j"}, "spec": {"parallelism": 3}})
    assert job["spec"]["parallelism"] == 3
    assert "completions" not in job["spec"]


def test_job_with_manual_selector_keeps_its_selector() -> None:
    selector = {"matchLabels": {"app": "x"}}
    job: dict[str, Any] = {
        "metadata": {"name": "j", "uid": "1", "labels": {"own": "yes"}},
        "spec": {"manualSelector": True, "selector": selector, "template": template()},
    }
    spec = defaulted("batch", "jobs", job)["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "x"}}
    assert spec["template"]["metadata"]["labels"] == {"app": "web"}
    assert job["metadata"]["labels"] == {"own": "yes"}


def test_cron_job_defaults() -> None:
    cron = {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template()}}}}
    spec = defaulted("batch", "cronjobs", cron)["spec"]
    assert spec["concurrencyPolicy"] == "Allow"
    assert spec["suspend"] is False
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 1
    job_spec = spec["jobTemplate"]["spec"]
    assert "backoffLimit" not in job_spec
    assert job_spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


def test_service_defaults() -> None:
    svc = {
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"port": 80}, {"port": 443, "targetPort": "https"}],
        }
    }
    spec = defaulted("", "services", svc)["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"] == [
        {"port": 80, "protocol": "TCP", "targetPort": 80},
        {"port": 443, "targetPort": "https", "protocol": "TCP"},
    ]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in spec
    assert "clusterIP" not in spec
    assert svc["status"] == {"loadBalancer": {}}


def test_node_port_and_load_balancer_service_defaults() -> None:
    node_port = defaulted("", "services", {"spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    assert node_port["spec"]["externalTrafficPolicy"] == "Cluster"
    lb = defaulted("", "services", {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True
    affinity = defaulted("", "services", {"spec": {"sessionAffinity": "ClientIP"}})
    assert affinity["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_service_cluster_ip_fields_are_kept_in_step() -> None:
    given = defaulted("", "services", {"spec": {"clusterIP": "10.0.0.10", "ports": [{"port": 53}]}})
    assert given["spec"]["clusterIPs"] == ["10.0.0.10"]
    external = defaulted("", "services", {"spec": {"type": "ExternalName", "externalName": "x.io"}})
    assert "ipFamilies" not in external["spec"]
    assert "internalTrafficPolicy" not in external["spec"]


def test_secret_defaults_merge_string_data() -> None:
    secret = {"data": {"a": base64.b64encode(b"old").decode()}, "stringData": {"b": "héllo"}}
    defaulted("", "secrets", secret)
    assert secret == {
        "data": {"a": "b2xk", "b": base64.b64encode("héllo".encode()).decode()},
        "type": "Opaque",
    }
    typed = defaulted("", "secrets", {"type": "kubernetes.io/tls", "stringData": {}})
    assert typed == {"type": "kubernetes.io/tls"}


def test_namespace_defaults() -> None:
    ns = defaulted("", "namespaces", {"metadata": {"name": "team-a"}})
    assert ns == {
        "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def test_network_policy_types() -> None:
    ingress_only = defaulted("networking.k8s.io", "networkpolicies", {"spec": {"podSelector": {}}})
    assert ingress_only["spec"]["policyTypes"] == ["Ingress"]
    both = defaulted(
        "networking.k8s.io",
        "networkpolicies",
        {"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}},
    )
    assert both["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert both["spec"]["egress"][0]["ports"] == [{"port": 53, "protocol": "TCP"}]
    given = defaulted("networking.k8s.io", "networkpolicies", {"spec": {"policyTypes": ["Egress"]}})
    assert given["spec"]["policyTypes"] == ["Egress"]


def test_binding_defaults() -> None:
    binding: dict[str, Any] = {
        "roleRef": {"kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa"}],
    }
    defaulted("rbac.authorization.k8s.io", "rolebindings", binding)
    assert binding["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert binding["subjects"] == [
        {"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "ServiceAccount", "name": "sa"},
    ]


@pytest.mark.parametrize(
    ("group", "resource"),
    [
        ("", "configmaps"),
        ("", "serviceaccounts"),
        ("policy", "poddisruptionbudgets"),
        ("networking.k8s.io", "ingresses"),
        ("example.com", "widgets"),
    ],
)
def test_kinds_without_defaults(group: str, resource: str) -> None:
    obj: dict[str, Any] = {"metadata": {"name": "x"}, "spec": {}}
    assert defaulted(group, resource, obj) == {"metadata": {"name": "x"}, "spec": {}}

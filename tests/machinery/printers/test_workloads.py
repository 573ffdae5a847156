"""apps/v1 and batch/v1 rows."""

from __future__ import annotations

from typing import Any

from .helpers import ago, cells, headers, meta

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [
            {"name": "web", "image": "nginx:1.27"},
            {"name": "log", "image": "fluent/fluent-bit:3.1"},
        ]
    },
}
SELECTOR = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]}],
}


def workload(status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": meta("web"),
        "spec": {"selector": SELECTOR, "template": TEMPLATE, **spec},
        "status": status,
    }


def test_deployment() -> None:
    assert headers("apps", "deployments") == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert headers("apps", "deployments", wide=True)[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    obj = workload(
        {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
        replicas=3,
    )
    assert cells("apps", "deployments", obj, wide=True) == [
        "web",
        "2/3",
        3,
        2,
        "5m",
        "web,log",
        "nginx:1.27,fluent/fluent-bit:3.1",
        "app=web,tier in (edge,front)",
    ]
    fresh = workload({}, replicas=1)
    assert cells("apps", "deployments", fresh) == ["web", "0/1", 0, 0, "5m"]


def test_replica_set() -> None:
    assert headers("apps", "replicasets") == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    obj = workload({"replicas": 3, "readyReplicas": 1}, replicas=3)
    assert cells("apps", "replicasets", obj) == ["web", 3, 3, 1, "5m"]


def test_stateful_set() -> None:
    assert headers("apps", "statefulsets", wide=True) == [
        "NAME",
        "READY",
        "AGE",
        "CONTAINERS",
        "IMAGES",
    ]
    obj = workload({"replicas": 2, "readyReplicas": 2}, replicas=2)
    assert cells("apps", "statefulsets", obj, wide=True) == [
        "web",
        "2/2",
        "5m",
        "web,log",
        "nginx:1.27,fluent/fluent-bit:3.1",
    ]


def test_daemon_set() -> None:
    assert headers("apps", "daemonsets") == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE SELECTOR",
        "AGE",
    ]
    status = {
        "desiredNumberScheduled": 3,
        "currentNumberScheduled": 3,
        "numberReady": 2,
        "updatedNumberScheduled": 3,
        "numberAvailable": 2,
    }
    obj = workload(status)
    assert cells("apps", "daemonsets", obj) == ["web", 3, 3, 2, 3, 2, "<none>", "5m"]
    obj["spec"]["template"] = {
        "spec": {"nodeSelector": {"kubernetes.io/os": "linux", "disk": "ssd"}, "containers": []}
    }
    assert cells("apps", "daemonsets", obj, wide=True)[6:] == [
        "disk=ssd,kubernetes.io/os=linux",
        "5m",
        "",
        "",
        "app=web,tier in (edge,front)",
    ]


def job(status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": meta("pi"),
        "spec": {
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "6b6e"}},
            "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}},
            **spec,
        },
        "status": status,
    }


def test_job_columns() -> None:
    assert headers("batch", "jobs") == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]


def test_complete_job() -> None:
    obj = job(
        {
            "succeeded": 1,
            "startTime": ago(minutes=5),
            "completionTime": ago(minutes=4, seconds=20),
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": "Complete", "status": "True"},
            ],
        },
        completions=1,
        parallelism=1,
    )
    assert cells("batch", "jobs", obj, wide=True) == [
        "pi",
        "Complete",
        "1/1",
        "40s",
        "5m",
        "pi",
        "perl:5.34",
        "batch.kubernetes.io/controller-uid=6b6e",
    ]


def test_running_failed_and_other_jobs() -> None:
    running = job(
        {"active": 2, "startTime": ago(minutes=3, seconds=2)}, completions=5, parallelism=2
    )
    assert cells("batch", "jobs", running)[1:4] == ["Running", "0/5", "3m2s"]
    failed = job({"failed": 6, "conditions": [{"type": "Failed", "status": "True"}]}, parallelism=3)
    assert cells("batch", "jobs", failed)[1:4] == ["Failed", "0/1 of 3", ""]
    suspended = job({"conditions": [{"type": "Suspended", "status": "True"}]})
    assert cells("batch", "jobs", suspended)[1:3] == ["Suspended", "0/1"]
    target = job({"conditions": [{"type": "FailureTarget", "status": "True"}]})
    assert cells("batch", "jobs", target)[1] == "FailureTarget"
    not_complete = job({"conditions": [{"type": "Complete", "status": "False"}]})
    assert cells("batch", "jobs", not_complete)[1] == "Running"
    deleting = job({"conditions": [{"type": "Suspended", "status": "True"}]})
    deleting["metadata"]["deletionTimestamp"] = ago(seconds=3)
    assert cells("batch", "jobs", deleting)[1] == "Terminating"


def test_cron_job() -> None:
    assert headers("batch", "cronjobs") == [
        "NAME",
        "SCHEDULE",
        "TIMEZONE",
        "SUSPEND",
        "ACTIVE",
        "LAST SCHEDULE",
        "AGE",
    ]
    cron = {
        "metadata": meta("hello"),
        "spec": {
            "schedule": "*/1 * * * *",
            "suspend": False,
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "hello", "image": "busybox:1.36"}]}
                    }
                }
            },
        },
        "status": {"active": [{"name": "hello-2860"}], "lastScheduleTime": ago(seconds=30)},
    }
    assert cells("batch", "cronjobs", cron, wide=True) == [
        "hello",
        "*/1 * * * *",
        "<none>",
        "False",
        1,
        "30s",
        "5m",
        "hello",
        "busybox:1.36",
        "",
    ]
    cron["spec"].update(timeZone="Europe/Paris", suspend=True)
    cron["status"] = {}
    assert cells("batch", "cronjobs", cron)[2:6] == ["Europe/Paris", "True", 0, "<none>"]
    del cron["spec"]["suspend"]
    assert cells("batch", "cronjobs", cron)[3] == "<unset>"

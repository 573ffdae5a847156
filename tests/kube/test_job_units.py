"""Job controller helpers on plain data: the back-off between failures, the
completedIndexes text, the pods a Job creates, conditions, TTL expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from corral.kube.job import conditions as cond
from corral.kube.job.backoff import BackoffRecord, next_record, remaining
from corral.kube.job.indexes import format_indexes, parse_indexes
from corral.kube.job.pods import TRACKING_FINALIZER, finished_time, new_pod
from corral.kube.job.ttl import expires_at

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
Obj = dict[str, Any]


def finished_pod(seconds: int) -> Obj:
    at = (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {"creationTimestamp": "2024-05-01T00:00:00Z"},
        "status": {"containerStatuses": [{"state": {"terminated": {"finishedAt": at}}}]},
    }


def test_back_off_doubles_per_failure_and_is_capped() -> None:
    record = BackoffRecord()
    waits = []
    for n in range(1, 8):
        record = next_record(record, [], [finished_pod(0)])
        assert record.failures == n
        waits.append(remaining(record, T0, 10, 360))
    assert waits == [10, 20, 40, 80, 160, 320, 360]


def test_back_off_counts_down_from_the_last_failure() -> None:
    record = next_record(BackoffRecord(), [], [finished_pod(0), finished_pod(5)])
    assert record == BackoffRecord(2, T0 + timedelta(seconds=5))
    assert remaining(record, T0 + timedelta(seconds=15), 10, 360) == 10
    assert remaining(record, T0 + timedelta(seconds=26), 10, 360) == 0


def test_a_success_resets_the_back_off() -> None:
    record = next_record(BackoffRecord(), [], [finished_pod(0)])
    assert next_record(record, [finished_pod(10)], []) == BackoffRecord()
    # failures after the success still count
    after = next_record(record, [finished_pod(10)], [finished_pod(5), finished_pod(20)])
    assert after == BackoffRecord(1, T0 + timedelta(seconds=20))
    assert remaining(BackoffRecord(), T0, 10, 360) == 0


def test_finish_time_falls_back_to_ready_false_then_creation() -> None:
    ready_false = {
        "metadata": {},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "lastTransitionTime": "2024-05-01T12:00:07Z"}
            ]
        },
    }
    assert finished_time(ready_false) == T0 + timedelta(seconds=7)
    assert finished_time({"metadata": {"creationTimestamp": "2024-05-01T12:00:00Z"}}) == T0


def test_completed_indexes_text() -> None:
    assert format_indexes([]) == ""
    assert format_indexes([3, 0, 1, 2, 5, 7, 8]) == "0-3,5,7,8"
    assert parse_indexes("0-3,5,7,8", 10) == {0, 1, 2, 3, 5, 7, 8}
    assert parse_indexes("1,x,4-9", 6) == {1, 4, 5}  # junk and out of range dropped


def job(**spec: Any) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "work", "namespace": "ns", "uid": "u1"},
        "spec": {
            "template": {
                "metadata": {"labels": {"job-name": "work"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]},
            },
            **spec,
        },
    }


def test_new_pods_carry_the_finalizer_and_owner() -> None:
    pod = new_pod(job(), None)
    meta = pod["metadata"]
    assert meta["generateName"] == "work-"
    assert meta["finalizers"] == [TRACKING_FINALIZER]
    assert meta["labels"] == {"job-name": "work"}
    assert meta["ownerReferences"][0]["uid"] == "u1"
    assert meta["ownerReferences"][0]["controller"] is True


def test_indexed_pods_carry_their_index() -> None:
    pod = new_pod(job(completionMode="Indexed", completions=3), 2)
    meta = pod["metadata"]
    key = "batch.kubernetes.io/job-completion-index"
    assert meta["annotations"][key] == "2"
    assert meta["labels"][key] == "2"
    assert meta["generateName"] == "work-2-"
    assert pod["spec"]["hostname"] == "work-2"
    assert pod["spec"]["containers"][0]["env"] == [
        {
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {
                "fieldRef": {
                    "apiVersion": "v1",
                    "fieldPath": f"metadata.annotations['{key}']",
                }
            },
        }
    ]


def test_conditions_are_replaced_whole_and_false_is_never_added() -> None:
    status: Obj = {}
    assert not cond.ensure(status, "Suspended", "False", "JobResumed", "Job resumed", T0)
    assert "conditions" not in status
    assert cond.ensure(status, "Suspended", "True", "JobSuspended", "Job suspended", T0)
    later = T0 + timedelta(seconds=30)
    assert not cond.ensure(status, "Suspended", "True", "JobSuspended", "Job suspended", later)
    assert cond.ensure(status, "Suspended", "False", "JobResumed", "Job resumed", later)
    assert status["conditions"] == [
        {
            "type": "Suspended",
            "status": "False",
            "lastProbeTime": "2024-05-01T12:00:30Z",
            "lastTransitionTime": "2024-05-01T12:00:30Z",
            "reason": "JobResumed",
            "message": "Job resumed",
        }
    ]


def test_ttl_expiry_is_counted_from_the_finish() -> None:
    done = job(ttlSecondsAfterFinished=100)
    assert expires_at(done) is None  # not finished
    done["status"] = {"conditions": [cond.new_condition("Complete", "True", "r", "m", T0)]}
    assert expires_at(done) == T0 + timedelta(seconds=100)
    done["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    assert expires_at(done) is None  # already being deleted

"""Pure StatefulSet pieces: pod identity, claims and their owners, revisions, counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from corral.kube.intorpercent import scaled
from corral.kube.revisions import (
    apply_revision,
    data_hash,
    equal_revisions,
    new_revision,
    next_revision,
    revisions_to_delete,
    template_patch,
)
from corral.kube.statefulset import identity as ident
from corral.kube.statefulset.control import count_status

Obj = dict[str, Any]


def sts(**spec: Any) -> Obj:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 1},
        "spec": {
            "replicas": 3,
            "serviceName": "web-svc",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"x": 1}}],
            **spec,
        },
    }


def test_new_pod_has_identity_storage_and_revision() -> None:
    s = sts()
    pod = ident.new_pod(s, s, "web-abc", 2)
    meta = pod["metadata"]
    assert meta["name"] == "web-2"
    assert meta["labels"] == {
        "app": "web",
        "statefulset.kubernetes.io/pod-name": "web-2",
        "apps.kubernetes.io/pod-index": "2",
        "controller-revision-hash": "web-abc",
    }
    assert pod["spec"]["hostname"] == "web-2"
    assert pod["spec"]["subdomain"] == "web-svc"
    assert pod["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-2"}}
    ]
    assert meta["ownerReferences"][0]["uid"] == "set-uid"
    assert ident.identity_matches(s, pod)
    assert ident.storage_matches(s, pod)
    assert ident.labels_match(pod)
    pod["metadata"]["labels"].pop("apps.kubernetes.io/pod-index")
    assert not ident.labels_match(pod)


def test_ordinals_and_membership() -> None:
    s = sts(ordinals={"start": 5})
    assert ident.parent_and_ordinal({"metadata": {"name": "web-12"}}) == ("web", 12)
    assert ident.parent_and_ordinal({"metadata": {"name": "web"}}) == ("", -1)
    assert ident.is_member(s, {"metadata": {"name": "web-1"}})
    assert not ident.is_member(s, {"metadata": {"name": "web-x-1"}})
    assert [o for o in range(10) if ident.in_range(s, o)] == [5, 6, 7]


def test_claims_and_retention_owner_refs() -> None:
    s = sts()
    claim = ident.claims_for(s, 0)["data"]
    assert claim["metadata"]["name"] == "data-web-0"
    assert claim["metadata"]["labels"] == {"app": "web"}
    pod_in = {"metadata": {"name": "web-0", "uid": "p0"}}
    pod_out = {"metadata": {"name": "web-7", "uid": "p7"}}
    assert ident.claim_owner_refs(claim, s, pod_in) is None  # Retain/Retain: none
    both = sts(
        persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"}
    )
    refs = ident.claim_owner_refs(claim, both, pod_in)
    assert refs is not None
    assert [(r["kind"], r["uid"], r["controller"]) for r in refs] == [
        ("StatefulSet", "set-uid", True)
    ]
    claim["metadata"]["ownerReferences"] = refs
    assert ident.claim_owner_refs(claim, both, pod_in) is None  # already right
    moved = ident.claim_owner_refs(claim, both, pod_out)
    assert moved is not None
    assert [(r["kind"], r["uid"]) for r in moved] == [("Pod", "p7")]


def test_revision_data_hash_and_rollback() -> None:
    s = sts()
    data = template_patch(s)
    assert data["spec"]["template"]["$patch"] == "replace"
    rev = new_revision(s, "StatefulSet", {"app": "web"}, data, 1, data_hash(data))
    assert rev["metadata"]["name"] == f"web-{data_hash(data)}"
    assert rev["metadata"]["labels"]["controller.kubernetes.io/hash"] == data_hash(data)
    assert data_hash(data) != data_hash(data, 1)
    changed = sts()
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    assert data_hash(template_patch(changed)) != data_hash(data)
    assert not equal_revisions(rev, {"data": template_patch(changed)})
    back = apply_revision(changed, rev)
    assert back["spec"]["template"] == s["spec"]["template"]
    assert next_revision([rev, {"revision": 7}]) == 8


def test_history_keeps_live_revisions() -> None:
    revs = [{"metadata": {"name": f"r{i}"}, "revision": i} for i in range(1, 6)]
    doomed = revisions_to_delete(revs, {"r1", "r5"}, 1)
    assert [r["metadata"]["name"] for r in doomed] == ["r2", "r3"]
    assert revisions_to_delete(revs, set(), 10) == []


def test_counts_and_scaled_values() -> None:
    now = datetime.now(UTC)
    ready = {
        "metadata": {"name": "web-0", "labels": {"controller-revision-hash": "new"}},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}
            ],
        },
    }
    pending = {
        "metadata": {"name": "web-1", "labels": {"controller-revision-hash": "old"}},
        "status": {"phase": "Pending"},
    }
    counts = count_status([ready, pending], "old", "new", 0, now)
    assert counts == {
        "replicas": 2,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "currentReplicas": 1,
        "updatedReplicas": 1,
    }
    assert scaled("50%", 3, True) == 2
    assert scaled(2, 3, True) == 2

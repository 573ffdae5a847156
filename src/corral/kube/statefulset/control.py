"""One StatefulSet sync: revisions, pods in ordinal order, rolling update, status.

Kubernetes' ``defaultStatefulSetControl.UpdateStatefulSet``, per set:

1. **Revisions.** The set's template as a ControllerRevision (`revisions`):
   an equal revision is reused (moved to the newest number when it is an old
   one — a rollback), else a new one is created. ``currentRevision`` is the
   one ``status.currentRevision`` names (the update revision at first).
2. **Status counts** over the claimed pods: ``replicas`` (created),
   ``readyReplicas``, ``availableReplicas`` (ready for ``minReadySeconds``),
   ``currentReplicas`` / ``updatedReplicas`` (pods of either revision).
3. **Replicas** ``start..start+replicas-1`` in order: a pod that failed or
   succeeded is deleted (and comes back with the same name); a missing pod
   is created, its claims first; under ``OrderedReady`` the sync stops at
   the first pod that was just created, is terminating, or is not Running
   and Ready (and available) — so ``web-1`` is only made once ``web-0`` is
   ready. ``Parallel`` goes on. A pod whose identity (labels, hostname,
   subdomain) or volumes drifted is fixed; claims get the owner references
   the retention policy asks for.
4. **Condemned** pods (ordinals beyond the range), from the highest: one at a
   time under ``OrderedReady`` (waiting for unhealthy ones unless it is the
   first unhealthy pod), all at once under ``Parallel``.
5. **RollingUpdate**: from the highest ordinal down to ``partition``, delete
   one pod of an old revision (step 3 recreates it from the update
   revision) and wait until it is healthy before the next;
   ``maxUnavailable``, when set, allows that many unhealthy pods at once.
   ``OnDelete`` replaces nothing: pods a user deletes come back updated.
6. When every pod is updated and ready, the update revision becomes the
   current one. Old revisions beyond ``revisionHistoryLimit`` that no pod
   uses are deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corral.client import Client
from corral.controller import NAMESPACE_INDEX, Informer, object_key
from corral.kube.controllerref import controller_ref
from corral.kube.eventrecorder import NORMAL, WARNING, EventRecorder
from corral.kube.intorpercent import scaled
from corral.kube.owners import write_status
from corral.kube.resources import PERSISTENT_VOLUME_CLAIMS, PODS, STATEFUL_SETS
from corral.kube.revisions import (
    History,
    apply_revision,
    data_hash,
    equal_revisions,
    new_revision,
    next_revision,
    revisions_to_delete,
    sort_revisions,
    template_patch,
)
from corral.kube.statefulset import identity as ident
from corral.machinery.status import AlreadyExists, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]

DEFAULT_HISTORY_LIMIT = 10


@dataclass(slots=True)
class Outcome:
    """What a pass over the pods found: the new status and when to look again."""

    status: Obj
    requeue_after: float | None = None
    errors: list[Exception] = field(default_factory=list)


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def rolling_update(sts: Mapping[str, Any]) -> Mapping[str, Any]:
    strategy = ident.spec(sts).get("updateStrategy") or {}
    return strategy.get("rollingUpdate") or {}


def is_rolling_update(sts: Mapping[str, Any]) -> bool:
    strategy = ident.spec(sts).get("updateStrategy") or {}
    return (strategy.get("type") or "RollingUpdate") == "RollingUpdate"


def count_status(
    pods: list[Obj], current: str, update: str, min_ready: int, now: datetime
) -> dict[str, int]:
    """``computeReplicaStatus`` over the set's pods."""
    counts = dict.fromkeys(
        ("replicas", "readyReplicas", "availableReplicas", "currentReplicas", "updatedReplicas"),
        0,
    )
    for pod in pods:
        counts["replicas"] += 1
        if ident.is_running_and_ready(pod):
            counts["readyReplicas"] += 1
            if ident.is_running_and_available(pod, min_ready, now):
                counts["availableReplicas"] += 1
        if not ident.is_terminating(pod):
            revision = ident.revision_of(pod)
            if revision == current:
                counts["currentReplicas"] += 1
            if revision == update:
                counts["updatedReplicas"] += 1
    return counts


class StatefulSetSync:
    """The writes of one sync; state lives in the informers."""

    def __init__(
        self,
        client: Client,
        revisions: Informer,
        claims: Informer,
        events: EventRecorder,
    ) -> None:
        self.client = client
        self.revisions = revisions
        self.claims = claims
        self.events = events
        self.history = History(client)

    # -- revisions -------------------------------------------------------------

    def owned_revisions(self, sts: Obj) -> list[Obj]:
        uid = ident.meta(sts).get("uid")
        namespace = ident.meta(sts).get("namespace", "")
        found = []
        for rev in self.revisions.by_index(NAMESPACE_INDEX, namespace):
            refs = ident.meta(rev).get("ownerReferences") or []
            if any(r.get("controller") is True and r.get("uid") == uid for r in refs):
                found.append(rev)
        return sort_revisions(found)

    async def revisions_of(self, sts: Obj) -> tuple[list[Obj], Obj, Obj, int]:
        """(owned revisions, current, update, collisionCount) — ``getStatefulSetRevisions``."""
        revisions = self.owned_revisions(sts)
        collision = _int((sts.get("status") or {}).get("collisionCount"))
        labels = dict(
            ((ident.spec(sts).get("template") or {}).get("metadata") or {}).get("labels") or {}
        )
        data = template_patch(sts)
        number = next_revision(revisions)

        def candidate(count: int) -> Obj:
            return new_revision(sts, ident.KIND, labels, data, number, data_hash(data, count))

        wanted = candidate(collision)
        equal = [r for r in revisions if equal_revisions(r, wanted)]
        if equal and revisions and equal[-1] is revisions[-1]:
            update = equal[-1]
        elif equal:
            update = await self.history.renumber(equal[-1], number)
            revisions = [r for r in revisions if r is not equal[-1]] + [update]
        else:
            update, collision = await self.history.create(wanted, collision, candidate)
            if all(ident.meta(r)["name"] != ident.meta(update)["name"] for r in revisions):
                revisions.append(update)
        current_name = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if ident.meta(r)["name"] == current_name), update)
        return revisions, current, update, collision

    async def truncate_history(
        self, sts: Obj, pods: list[Obj], revisions: list[Obj], current: Obj, update: Obj
    ) -> None:
        live = {ident.revision_of(p) for p in pods}
        live |= {ident.meta(current)["name"], ident.meta(update)["name"]}
        limit = _int(ident.spec(sts).get("revisionHistoryLimit"), DEFAULT_HISTORY_LIMIT)
        for revision in revisions_to_delete(revisions, live, limit):
            await self.history.delete(revision)

    # -- the pass ----------------------------------------------------------------

    async def update(self, sts: Obj, pods: list[Obj]) -> Outcome:
        revisions, current, update, collision = await self.revisions_of(sts)
        outcome = await self._update_pods(sts, pods, current, update)
        status = outcome.status
        status["collisionCount"] = collision
        status["observedGeneration"] = _int(ident.meta(sts).get("generation"))
        if (
            is_rolling_update(sts)
            and status["updatedReplicas"] == status["replicas"]
            and status["readyReplicas"] == status["replicas"]
        ):
            status["currentReplicas"] = status["updatedReplicas"]
            status["currentRevision"] = status["updateRevision"]
        merged = {**(sts.get("status") or {}), **status}
        await write_status(self.client, STATEFUL_SETS, sts, merged)
        await self.truncate_history(sts, pods, revisions, current, update)
        if outcome.errors:
            raise outcome.errors[0]
        return outcome

    async def _update_pods(self, sts: Obj, pods: list[Obj], current: Obj, update: Obj) -> Outcome:
        now = datetime.now(UTC)
        spec = ident.spec(sts)
        min_ready = _int(spec.get("minReadySeconds"))
        current_name, update_name = ident.meta(current)["name"], ident.meta(update)["name"]
        status: Obj = {
            **count_status(pods, current_name, update_name, min_ready, now),
            "currentRevision": current_name,
            "updateRevision": update_name,
        }
        outcome = Outcome(status)
        count, start = ident.replicas(sts), ident.start_ordinal(sts)
        monotonic = spec.get("podManagementPolicy") != "Parallel"
        current_set, update_set = apply_revision(sts, current), apply_revision(sts, update)

        slots: list[Obj | None] = [None] * count
        condemned: list[Obj] = []
        for pod in pods:
            ordinal = ident.ordinal_of(pod)
            if ident.in_range(sts, ordinal):
                slots[ordinal - start] = pod
            elif ordinal >= 0:
                condemned.append(pod)
        condemned.sort(key=ident.ordinal_of)

        def fresh(ordinal: int) -> Obj:
            partition = _int(rolling_update(sts).get("partition"))
            if is_rolling_update(sts) and ordinal < start + partition:
                return ident.new_pod(sts, current_set, current_name, ordinal)
            return ident.new_pod(sts, update_set, update_name, ordinal)

        replicas: list[Obj] = [
            pod if pod is not None else fresh(start + i) for i, pod in enumerate(slots)
        ]
        first_unhealthy = next(
            (p for p in [*replicas, *condemned] if not ident.is_healthy(p)), None
        )
        if ident.meta(sts).get("deletionTimestamp"):
            return outcome

        for pod in replicas:
            stop, after = await self._process_replica(sts, pod, monotonic, min_ready, now, outcome)
            if after is not None:
                outcome.requeue_after = after
            if stop:
                return outcome

        for pod in reversed(condemned):
            if ident.is_terminating(pod):
                if monotonic:
                    return outcome
                continue
            if monotonic and pod is not first_unhealthy:
                if not ident.is_running_and_ready(pod):
                    return outcome
                if not ident.is_running_and_available(pod, min_ready, now):
                    outcome.requeue_after = float(min_ready)
                    return outcome
            await self._sync_claim_refs(sts, pod)
            await self._delete_pod(sts, pod, "scale down")
            if monotonic:
                return outcome

        if not is_rolling_update(sts):
            return outcome
        await self._roll(sts, replicas, update_name)
        return outcome

    async def _process_replica(
        self, sts: Obj, pod: Obj, monotonic: bool, min_ready: int, now: datetime, out: Outcome
    ) -> tuple[bool, float | None]:
        """(stop here, requeue after) for one replica (``processReplica``)."""
        existing = bool(ident.meta(pod).get("uid"))
        if existing and ident.is_finished(pod):
            if not ident.is_terminating(pod):
                phase = (pod.get("status") or {}).get("phase")
                self.events.record(
                    sts,
                    WARNING,
                    "RecreatingFailedPod" if phase == "Failed" else "RecreatingTerminatedPod",
                    f"StatefulSet {ident.meta(sts)['namespace']}/{ident.meta(sts)['name']} is "
                    f"recreating {phase.lower() if isinstance(phase, str) else ''} Pod "
                    f"{ident.meta(pod)['name']}",
                )
                await self._delete_pod(sts, pod, "recreate")
            return monotonic, None
        if not existing:
            try:
                await self._create_pod(sts, pod)
            except Exception as exc:
                out.errors.append(exc)
                return True, None
            return monotonic, None
        if ident.is_terminating(pod):
            return monotonic, None
        if not ident.is_running_and_ready(pod):
            return monotonic, None
        if not ident.is_running_and_available(pod, min_ready, now):
            return monotonic, (float(min_ready) if monotonic else None)
        await self._sync_claim_refs(sts, pod)
        if not ident.labels_match(pod):
            await self._fix_labels(sts, pod)
        return False, None

    async def _roll(self, sts: Obj, replicas: list[Obj], update_name: str) -> None:
        """Replace old-revision pods from the highest ordinal down to the partition."""
        rolling = rolling_update(sts)
        partition = _int(rolling.get("partition"))
        if rolling.get("maxUnavailable") is None:
            for pod in reversed(replicas[partition:]):
                if ident.revision_of(pod) != update_name and not ident.is_terminating(pod):
                    await self._delete_pod(sts, pod, "update")
                    return
                if not ident.is_healthy(pod):
                    return
            return
        allowed = max(1, scaled(rolling.get("maxUnavailable"), len(replicas), True) or 1)
        unavailable = sum(1 for p in replicas if not ident.is_healthy(p))
        budget = allowed - unavailable
        for pod in reversed(replicas[partition:]):
            if budget <= 0:
                return
            if ident.revision_of(pod) != update_name and not ident.is_terminating(pod):
                await self._delete_pod(sts, pod, "update")
                if ident.is_healthy(pod):
                    budget -= 1

    # -- writes ------------------------------------------------------------------

    async def _create_pod(self, sts: Obj, pod: Obj) -> None:
        await self._create_claims(sts, pod)
        name = ident.meta(pod)["name"]
        try:
            await self.client.create(PODS, pod, namespace=ident.meta(sts)["namespace"])
        except AlreadyExists:
            return  # the informer has not shown it yet
        except Exception as exc:
            self.events.record(
                sts,
                WARNING,
                "FailedCreate",
                f"create Pod {name} in StatefulSet {ident.meta(sts)['name']} failed error: {exc}",
            )
            raise
        self.events.record(
            sts,
            NORMAL,
            "SuccessfulCreate",
            f"create Pod {name} in StatefulSet {ident.meta(sts)['name']} successful",
        )

    async def _create_claims(self, sts: Obj, pod: Obj) -> None:
        namespace = ident.meta(sts)["namespace"]
        for claim in ident.claims_for(sts, ident.ordinal_of(pod)).values():
            name = claim["metadata"]["name"]
            found = self.claims.get(f"{namespace}/{name}")
            if found is not None:
                if ident.meta(found).get("deletionTimestamp"):
                    raise RuntimeError(f"pvc {name} is being deleted")
                continue
            if ident.retention_policy(sts)[0] == ident.DELETE:
                # Owned by the set from the start, so a set deleted at once takes it along.
                claim["metadata"]["ownerReferences"] = [
                    controller_ref(sts, ident.API_VERSION, ident.KIND)
                ]
            try:
                await self.client.create(PERSISTENT_VOLUME_CLAIMS, claim, namespace=namespace)
            except AlreadyExists:
                continue
            except Exception as exc:
                self.events.record(
                    sts,
                    WARNING,
                    "FailedCreate",
                    f"create Claim {name} for Pod "
                    f"{ident.meta(pod)['name']} in StatefulSet {ident.meta(sts)['name']} "
                    f"failed error: {exc}",
                )
                raise
            self.events.record(
                sts,
                NORMAL,
                "SuccessfulCreate",
                f"create Claim {name} Pod "
                f"{ident.meta(pod)['name']} in StatefulSet {ident.meta(sts)['name']} success",
            )

    async def _sync_claim_refs(self, sts: Obj, pod: Obj) -> None:
        """Owner references on the pod's claims per the retention policy."""
        namespace = ident.meta(sts)["namespace"]
        for claim in ident.claims_for(sts, ident.ordinal_of(pod)).values():
            found = self.claims.get(f"{namespace}/{claim['metadata']['name']}")
            if found is None or ident.meta(found).get("deletionTimestamp"):
                continue
            refs = ident.claim_owner_refs(found, sts, pod)
            if refs is None:
                continue
            patch = {
                "metadata": {
                    "ownerReferences": refs,
                    "resourceVersion": ident.meta(found).get("resourceVersion"),
                }
            }
            try:
                await self.client.patch(
                    PERSISTENT_VOLUME_CLAIMS, ident.meta(found)["name"], patch, namespace=namespace
                )
            except NotFound:
                continue

    async def _fix_labels(self, sts: Obj, pod: Obj) -> None:
        """Restore the identity labels (name, index, revision stay as they are); hostname,
        subdomain and volumes are immutable in a pod, so a drift there is left alone."""
        labels = ident.identity_labels(pod)
        patch = {
            "metadata": {
                "labels": labels,
                "resourceVersion": ident.meta(pod).get("resourceVersion"),
            }
        }
        try:
            await self.client.patch(
                PODS, ident.meta(pod)["name"], patch, namespace=ident.meta(pod)["namespace"]
            )
        except NotFound:
            return

    async def _delete_pod(self, sts: Obj, pod: Obj, why: str) -> None:
        name = ident.meta(pod)["name"]
        try:
            await self.client.delete(PODS, name, namespace=ident.meta(pod)["namespace"])
        except NotFound:
            return
        except Exception as exc:
            self.events.record(
                sts,
                WARNING,
                "FailedDelete",
                f"delete Pod {name} in StatefulSet {ident.meta(sts)['name']} failed error: {exc}",
            )
            raise
        log.info("statefulset %s: deleted pod %s (%s)", object_key(sts), name, why)
        self.events.record(
            sts,
            NORMAL,
            "SuccessfulDelete",
            f"delete Pod {name} in StatefulSet {ident.meta(sts)['name']} successful",
        )

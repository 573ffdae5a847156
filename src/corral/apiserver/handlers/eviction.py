"""``POST …/pods/<name>/eviction``: delete a pod only if its disruption budget allows.

What ``kubectl drain`` (and any client evicting pods) calls. As Kubernetes'
``EvictionREST`` decides, with its answers:

- The body is a policy/v1 (or v1beta1) ``Eviction``; a ``metadata.name``
  other than the URL's is 400. Its ``deleteOptions`` are the pod delete's
  (grace period, preconditions, ``dryRun``).
- A pod that is already terminating, has finished (Succeeded/Failed) or is
  still Pending is deleted without looking at budgets.
- The PodDisruptionBudgets of the namespace whose selector matches the
  pod's labels (a null or empty selector matches nothing): none → the pod
  is deleted; more than one → 500 ``This pod has more than one
  PodDisruptionBudget, which the eviction subresource does not support.``
- One: if its status is older than its spec (``observedGeneration``), or
  ``status.disruptionsAllowed`` is 0, the answer is 429 TooManyRequests
  ``Cannot evict pod as it would violate the pod's disruption budget.``
  with a ``DisruptionBudget`` cause (``The disruption budget web needs 2
  healthy pods and has 2 currently``). Otherwise ``disruptionsAllowed`` is
  decremented and the pod recorded in ``status.disruptedPods`` with a
  compare-and-swap on the budget (a lost race re-reads and re-checks), then
  the pod is deleted. An unready pod is deleted without using the budget
  while the budget is met (``unhealthyPodEvictionPolicy`` IfHealthyBudget,
  the default) or always (AlwaysAllow).
- Success is 201 with a ``Status`` of ``Success``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import dry_run, object_response, read_object
from corral.apiserver.store import delete_object, get_object
from corral.apiserver.store.encoding import decode, encode_for_storage
from corral.machinery import labels
from corral.machinery.status import (
    BadRequest,
    Forbidden,
    InternalError,
    StatusCause,
    StatusDetails,
    TooManyRequests,
)
from corral.storage import Backend, KeyNotFoundError, RevisionMismatchError

Obj = dict[str, Any]
PDB_PREFIX = "/registry/policy/poddisruptionbudgets/"
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
MAX_DISRUPTED_PODS = 2000
_RETRIES = 16
_API_VERSIONS = ("policy/v1", "policy/v1beta1")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _budget_refusal(message: str) -> TooManyRequests:
    err = TooManyRequests(VIOLATION, retry_after_seconds=0)
    cause = StatusCause(reason=DISRUPTION_BUDGET_CAUSE, message=message)
    err.details = StatusDetails(causes=(cause,))
    return err


def _is_ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def can_ignore_budget(pod: Obj) -> bool:
    """Terminating, finished or pending pods are evicted without a budget check."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return True
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending")


async def budgets_for(backend: Backend, pod: Obj) -> list[tuple[int, Obj]]:
    """(revision, budget) of every PDB of the pod's namespace selecting the pod."""
    meta = pod.get("metadata") or {}
    pod_labels = meta.get("labels") or {}
    page = await backend.list(f"{PDB_PREFIX}{meta.get('namespace', '')}/")
    out = []
    for kv in page.items:
        pdb = decode(kv.value, kv.mod_revision)
        try:
            selector = labels.from_label_selector((pdb.get("spec") or {}).get("selector"))
        except labels.SelectorError:
            continue
        if selector.empty or not selector.matches(pod_labels):
            continue
        out.append((kv.mod_revision, pdb))
    return out


def _check(pdb: Obj) -> None:
    name = pdb["metadata"].get("name", "")
    status = pdb.get("status") or {}
    generation = pdb["metadata"].get("generation") or 0
    if (status.get("observedGeneration") or 0) < generation:
        raise _budget_refusal(
            f"The disruption budget {name} is still being processed by the server."
        )
    allowed = status.get("disruptionsAllowed") or 0
    if allowed < 0:
        raise Forbidden(
            "poddisruptionbudgets", name, "pdb disruptions allowed is negative", group="policy"
        )
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise Forbidden(
            "poddisruptionbudgets",
            name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
            group="policy",
        )
    if allowed == 0:
        raise _budget_refusal(
            f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy pods "
            f"and has {status.get('currentHealthy', 0)} currently"
        )


def _unready_may_go(pod: Obj, pdb: Obj) -> bool:
    if _is_ready(pod):
        return False
    policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
    if policy == "AlwaysAllow":
        return True
    status = pdb.get("status") or {}
    observed = (status.get("observedGeneration") or 0) >= (pdb["metadata"].get("generation") or 0)
    return observed and (status.get("currentHealthy") or 0) >= (status.get("desiredHealthy") or 0)


async def _use_budget(backend: Backend, pod: Obj, dry: bool) -> None:
    """Check the pod's budget and take one disruption from it (CAS on the budget)."""
    for _ in range(_RETRIES):
        budgets = await budgets_for(backend, pod)
        if not budgets:
            return
        if len(budgets) > 1:
            raise InternalError(
                "This pod has more than one PodDisruptionBudget, which the eviction "
                "subresource does not support."
            )
        revision, pdb = budgets[0]
        if _unready_may_go(pod, pdb):
            return
        _check(pdb)
        if dry:
            return
        status = pdb.setdefault("status", {})
        status["disruptionsAllowed"] = status["disruptionsAllowed"] - 1
        disrupted = status.get("disruptedPods")
        if not isinstance(disrupted, dict):
            disrupted = status["disruptedPods"] = {}
        disrupted[pod["metadata"]["name"]] = _now()
        if status["disruptionsAllowed"] == 0:
            _insufficient(status)
        meta = pdb["metadata"]
        key = f"{PDB_PREFIX}{meta['namespace']}/{meta['name']}"
        try:
            await backend.update(key, encode_for_storage(pdb), expected_revision=revision)
        except (RevisionMismatchError, KeyNotFoundError):
            continue
        return
    raise TooManyRequests("too many conflicts updating the disruption budget, try again")


def _insufficient(status: Obj) -> None:
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        conditions = status["conditions"] = []
    for condition in conditions:
        if isinstance(condition, dict) and condition.get("type") == "DisruptionAllowed":
            if condition.get("status") != "False":
                condition["lastTransitionTime"] = _now()
            condition.update(status="False", reason="InsufficientPods", message="")
            return
    conditions.append(
        {
            "type": "DisruptionAllowed",
            "status": "False",
            "reason": "InsufficientPods",
            "message": "",
            "lastTransitionTime": _now(),
        }
    )


async def create_eviction(v: Verb) -> Response:
    body = await read_object(v.request)
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version not in (None, *_API_VERSIONS) or kind not in (None, "Eviction"):
        raise BadRequest(f"the body must be a policy/v1 Eviction, not {api_version}/{kind}")
    named = (body.get("metadata") or {}).get("name")
    if named and named != v.name:
        raise BadRequest("name in URL does not match name in Eviction object")
    options = body.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise BadRequest("deleteOptions must be an object")
    dry = dry_run(v.request) or options.get("dryRun") == ["All"]
    pod = (await get_object(v.backend, v.rt, v.namespace, v.name)).obj
    if not can_ignore_budget(pod):
        await _use_budget(v.backend, pod, dry)
    await delete_object(v.backend, v.rt, v.namespace, v.name, options, dry_run=dry)
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": 201,
    }
    return object_response(v.request, 201, status)

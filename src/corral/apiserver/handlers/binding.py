"""``POST pods/<name>/binding``: how a scheduler assigns a pod to a node.

A scheduler does not update pods: it posts a ``Binding`` (``target`` the
node) and the API server sets ``spec.nodeName`` and the ``PodScheduled``
condition in one write, refusing a pod that is already bound or being
deleted — so two schedulers racing for one pod cannot both win, and nobody
else needs the right to change a pod's spec. Annotations on the Binding are
copied onto the pod, as Kubernetes does. The answer is a ``Status`` of
Success (201).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.apply_options import updated_by
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import dry_run, object_response, read_object
from corral.apiserver.store import mutate_object
from corral.machinery.status import Conflict, FieldError, Invalid

BINDING_SUBRESOURCE = "binding"


def _target(v: Verb, binding: dict[str, Any]) -> str:
    errors: list[FieldError] = []
    meta = binding.get("metadata") or {}
    name = meta.get("name")
    if name and name != v.name:
        errors.append(FieldError.invalid("metadata.name", name, f"must be {v.name!r}"))
    target = binding.get("target") or {}
    node = target.get("name") if isinstance(target, dict) else None
    if not isinstance(node, str) or not node:
        errors.append(FieldError.required("target.name"))
    kind = target.get("kind", "") if isinstance(target, dict) else ""
    if kind not in ("", "Node"):
        errors.append(FieldError.not_supported("target.kind", kind, ["Node"]))
    if errors:
        raise Invalid("Binding", v.name, errors)
    return str(node)


def _scheduled(pod: dict[str, Any], now: str) -> None:
    status = pod.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    conditions.append(
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
    )
    status["conditions"] = conditions


async def create_binding(v: Verb) -> Response:
    binding = await read_object(v.request)
    node = _target(v, binding)
    annotations = (binding.get("metadata") or {}).get("annotations") or {}

    def bind(pod: dict[str, Any]) -> dict[str, Any]:
        meta, spec = pod["metadata"], pod.setdefault("spec", {})
        if meta.get("deletionTimestamp"):
            raise Conflict(
                "pods/binding",
                v.name,
                f"pod {v.name} is being deleted, cannot be assigned to a host",
            )
        if spec.get("nodeName"):
            raise Conflict(
                "pods/binding",
                v.name,
                f'pod {v.name} is already assigned to node "{spec["nodeName"]}"',
            )
        spec["nodeName"] = node
        if annotations:
            meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
        _scheduled(pod, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        meta.pop("resourceVersion", None)  # bound to whatever is current (retried on a race)
        return pod

    await mutate_object(
        v.backend,
        v.rt,
        v.namespace,
        v.name,
        bind,
        subresource=BINDING_SUBRESOURCE,
        dry_run=dry_run(v.request),
        ownership=updated_by(v.request, "CreateOptions"),
    )
    return object_response(
        v.request,
        201,
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
    )

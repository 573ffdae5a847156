"""The ``scale`` subresource: an ``autoscaling/v1`` Scale view of a workload.

``GET .../deployments/<name>/scale`` answers a Scale built from the object
(``spec.replicas``; ``status.replicas`` and the label selector as a string);
PUT and PATCH change only ``spec.replicas`` of the object (through the
ordinary update path, so generation moves). A Scale that carries a
resourceVersion is a precondition (409 when stale). ``kubectl scale`` uses
this. Custom resources name their fields in the CRD's ``subresources.scale``
(``specReplicasPath``, ``statusReplicasPath``, ``labelSelectorPath``: simple
dotted paths such as ``.spec.replicas``); the selector there is already a
string.
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.apply_options import updated_by
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import dry_run, object_response, read_object
from corral.apiserver.handlers.patch import apply_patch, read_patch
from corral.apiserver.registry import ResourceType
from corral.apiserver.store import get_object, mutate_object
from corral.machinery import labels
from corral.machinery.status import BadRequest, FieldError, Invalid

SCALE_KIND = {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def _path(text: str) -> list[str]:
    return [p for p in text.strip().lstrip(".").split(".") if p]


def read_path(obj: Any, text: str) -> Any:
    """The value at dotted path ``text`` in ``obj`` (None when absent)."""
    for part in _path(text):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def write_path(obj: dict[str, Any], text: str, value: Any) -> None:
    """Set dotted path ``text`` in ``obj``, making objects on the way."""
    parts = _path(text)
    for part in parts[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    if parts:
        obj[parts[-1]] = value


def scale_of(obj: dict[str, Any], rt: ResourceType | None = None) -> dict[str, Any]:
    """The Scale view of a workload object (or of a custom resource of ``rt``)."""
    meta = obj.get("metadata", {})
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    custom = rt.custom if rt is not None else None
    if custom is not None:
        selector = read_path(obj, custom.label_selector_path) if custom.label_selector_path else ""
        spec = {"replicas": read_path(obj, custom.spec_replicas_path)}
        status = {"replicas": read_path(obj, custom.status_replicas_path)}
        selector = selector if isinstance(selector, str) else ""
    else:
        try:
            selector = str(labels.from_label_selector(spec.get("selector")))
        except labels.SelectorError:
            selector = ""
    scale_meta = {
        k: meta[k]
        for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        if k in meta
    }
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": spec.get("replicas") or 0},
        "status": {"replicas": status.get("replicas") or 0, "selector": selector},
    }


def _replicas(v: Verb, scale: dict[str, Any]) -> int:
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        error = FieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
        raise Invalid("Scale", v.name, [error], group="autoscaling")
    return replicas


async def _write(v: Verb, desired: Any) -> Response:
    def mutate(current: dict[str, Any]) -> dict[str, Any]:
        scale = desired(scale_of(current, v.rt)) if callable(desired) else desired
        if not isinstance(scale, dict):
            raise BadRequest("the body must be a Scale object")
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if v.rt.custom is not None:
            write_path(current, v.rt.custom.spec_replicas_path, _replicas(v, scale))
        else:
            current.setdefault("spec", {})["replicas"] = _replicas(v, scale)
        if not rv:
            current["metadata"].pop("resourceVersion", None)
        else:
            current["metadata"]["resourceVersion"] = rv
        return current

    stored = await mutate_object(
        v.backend,
        v.rt,
        v.namespace,
        v.name,
        mutate,
        dry_run=dry_run(v.request),
        ownership=updated_by(v.request, subresource="scale"),
    )
    return object_response(v.request, 200, scale_of(stored.obj, v.rt))


async def get_scale(v: Verb) -> Response:
    stored = await get_object(v.backend, v.rt, v.namespace, v.name)
    return object_response(v.request, 200, scale_of(stored.obj, v.rt))


async def update_scale(v: Verb) -> Response:
    return await _write(v, await read_object(v.request))


async def patch_scale(v: Verb) -> Response:
    ctype, doc = await read_patch(v)
    return await _write(v, lambda scale: apply_patch(v, ctype, doc, scale))

"""Creating an object: the server-owned metadata, checks, then one storage write.

Order, as in Kubernetes' generic registry: kind and namespace checks (400),
the namespace must exist (404 on the namespace) and not be terminating
(403), server-owned metadata is set (uid, creationTimestamp, generation 1
for kinds with a spec, status cleared for kinds with a status subresource),
the kind's strategy prepares and validates it (422), and it is written; an
existing key is 409 AlreadyExists, except for ``generateName``, which
retries with fresh characters. Namespaces get ``spec.finalizers:
["kubernetes"]`` and ``status.phase: Active``. With dry run, nothing is
written and the object is returned without a resourceVersion.
"""

from __future__ import annotations

import uuid
from typing import Any

from corral.apiserver.registry import ResourceType
from corral.apiserver.store.admit import admit
from corral.apiserver.store.managed import Ownership
from corral.apiserver.store.meta import generate_name, name_errors, now_rfc3339
from corral.apiserver.store.objects import (
    Stored,
    encode_object,
    meta_of,
    storage_errors,
    stored_from_kv,
)
from corral.machinery.admission import Admission, Operation
from corral.machinery.status import BadRequest, FieldError, Forbidden, Invalid, NotFound
from corral.storage import Backend, KeyExistsError

_GENERATE_ATTEMPTS = 8
NAMESPACE_KEY = "/registry/core/namespaces/"


def check_kind(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Fill in apiVersion/kind, or 400 if the body names another kind."""
    api_version = obj.setdefault("apiVersion", rt.api_version)
    kind = obj.setdefault("kind", rt.kind)
    if api_version != rt.api_version:
        raise BadRequest(
            f"the API version in the data ({api_version}) does not match the expected "
            f"API version ({rt.api_version})"
        )
    if kind != rt.kind:
        raise BadRequest(
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )


def check_namespace(rt: ResourceType, meta: dict[str, Any], namespace: str) -> None:
    """Set or check ``metadata.namespace`` against the request's."""
    if not rt.namespaced:
        meta.pop("namespace", None)
        return
    given = meta.get("namespace") or ""
    if given and given != namespace:
        raise BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    meta["namespace"] = namespace


async def require_open_namespace(
    backend: Backend, rt: ResourceType, namespace: str, name: str
) -> None:
    """404 if the namespace is missing; 403 if it is terminating."""
    kv = await backend.get(NAMESPACE_KEY + namespace)
    if kv is None:
        raise NotFound("namespaces", namespace)
    ns = Stored.from_kv(kv).obj
    if (ns.get("status") or {}).get("phase") == "Terminating" or ns["metadata"].get(
        "deletionTimestamp"
    ):
        raise Forbidden(
            rt.resource,
            name,
            f"unable to create new content in namespace {namespace} because it is being terminated",
            group=rt.group,
        )


def _initialise(rt: ResourceType, obj: dict[str, Any], meta: dict[str, Any]) -> None:
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
        meta.pop(key, None)
    if rt.has_spec:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    if rt.has_status_subresource:
        obj.pop("status", None)
    if rt.resource == "namespaces" and rt.group == "":
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict) and "finalizers" not in spec:
            spec["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}


async def create_object(
    backend: Backend,
    rt: ResourceType,
    namespace: str,
    obj: dict[str, Any],
    *,
    dry_run: bool,
    admission: Admission | None = None,
    ownership: Ownership | None = None,
) -> Stored:
    """Create ``obj`` in ``namespace`` (ignored for cluster-scoped kinds).

    ``admission`` runs after validation (`admit`); it is aborted if nothing is written.
    ``ownership`` records the managedFields of the write (`managed`).
    """
    check_kind(rt, obj)
    meta = meta_of(obj)
    check_namespace(rt, meta, namespace)
    name = meta.get("name") or ""
    prefix = meta.get("generateName") or ""
    if not isinstance(name, str) or not isinstance(prefix, str):
        raise BadRequest("metadata.name and metadata.generateName must be strings")
    if rt.namespaced:
        await require_open_namespace(backend, rt, namespace, name)
    _initialise(rt, obj, meta)
    rt.strategy.default(obj)
    errors: list[FieldError] = []
    if not name and not prefix:
        errors.append(FieldError.required("metadata.name", "name or generateName is required"))
    elif name:
        errors.extend(name_errors(name, rt.name_format))
    else:
        errors.extend(name_errors(generate_name(prefix), rt.name_format, "metadata.generateName"))
    if not errors:
        if not name:
            meta["name"] = generate_name(prefix)
        errors.extend(rt.strategy.validate_create(obj))
    if errors:
        raise Invalid(rt.kind, meta.get("name") or prefix, errors, group=rt.group)
    if ownership is not None:
        ownership.record(rt, None, obj, "")
    admitted = await admit(
        admission, rt, Operation.CREATE, namespace, meta["name"], obj, dry_run=dry_run
    )
    if dry_run:
        return Stored.unsaved(obj)
    try:
        stored = await _write(backend, rt, namespace, obj, meta, name, prefix)
    except BaseException:
        await admitted.abort()
        raise
    await admitted.commit()
    return stored


async def _write(
    backend: Backend,
    rt: ResourceType,
    namespace: str,
    obj: dict[str, Any],
    meta: dict[str, Any],
    name: str,
    prefix: str,
) -> Stored:
    for attempt in range(_GENERATE_ATTEMPTS):
        key = rt.key(namespace, meta["name"])
        value = encode_object(rt, obj)
        try:
            kv = await backend.create(key, value, ttl=rt.ttl)
        except KeyExistsError:
            if name or attempt == _GENERATE_ATTEMPTS - 1:
                with storage_errors(rt, meta["name"]):
                    raise
            meta["name"] = generate_name(prefix)
            continue
        return stored_from_kv(rt, kv)
    raise AssertionError("unreachable")

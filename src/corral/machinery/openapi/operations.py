"""The operations of a served resource, as kube-apiserver lists them in its OpenAPI.

One record per (path, method), independent of the OpenAPI version; the v2 and
v3 renderers turn them into documents. This module decides the paths
(collection, item, all-namespaces list, the deprecated ``watch`` paths,
subresources), the ``x-kubernetes-action`` of each, the query parameters each
verb takes — create, update and patch always list ``dryRun``, ``fieldManager``
and ``fieldValidation``, which is how kubectl tells that the server validates
fields — and the content types of bodies and responses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from corral.machinery.openapi.definitions import GVK
from corral.machinery.openapi.parameters import (
    DELETE_PARAMS,
    FORCE,
    LIST_PARAMS,
    NAME,
    NAMESPACE,
    PRETTY,
    WATCH,
    WRITE_PARAMS,
    Param,
)
from corral.machinery.openapi.resources import ServedResource, Subresource

JSON = "application/json"
YAML = "application/yaml"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
WATCH_JSON = "application/json;stream=watch"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)
BODY_TYPES = (JSON, YAML)
RESPONSE_TYPES = (JSON, YAML)

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
STATUS_SCHEMA = META + "Status"
PATCH_SCHEMA = META + "Patch"
DELETE_OPTIONS_SCHEMA = META + "DeleteOptions"
WATCH_EVENT_SCHEMA = META + "WatchEvent"


@dataclass(frozen=True)
class Operation:
    """One HTTP method on one path."""

    path: str
    method: str
    operation_id: str
    description: str
    action: str
    gvk: GVK | None
    params: tuple[Param, ...]
    responses: dict[str, str]  # status code -> schema name ("" for none)
    body_schema: str = ""
    body_types: tuple[str, ...] = ()
    response_types: tuple[str, ...] = RESPONSE_TYPES
    tag: str = ""


def tag_of(group: str, version: str) -> str:
    """``coreV1``, ``appsV1``, ``rbacAuthorizationV1``: the operations' tag."""
    words = [
        w for part in (group.removesuffix(".k8s.io") or "core").split(".") for w in part.split("-")
    ]
    words.append(version)
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def operations_for(resource: ServedResource, schema_name: Callable[[GVK], str]) -> list[Operation]:
    """Every operation of ``resource``; ``schema_name`` maps a GVK to its definition name."""
    r = resource
    tag = tag_of(r.group, r.version)
    suffix = tag[:1].upper() + tag[1:]
    scope = "Namespaced" if r.namespaced else ""
    verbs = set(r.verbs)
    kind_schema = schema_name(r.gvk)
    # Create-only kinds (the self-subject reviews) have no list kind.
    list_schema = schema_name(r.list_gvk) if "list" in verbs else ""
    prefix = f"{r.root}/namespaces/{{namespace}}" if r.namespaced else r.root
    scope_params: tuple[Param, ...] = (NAMESPACE,) if r.namespaced else ()
    collection, item = f"{prefix}/{r.resource}", f"{prefix}/{r.resource}/{{name}}"
    ops: list[Operation] = []

    def add(
        path: str,
        method: str,
        verb: str,
        action: str,
        params: tuple[Param, ...],
        *,
        responses: dict[str, str],
        description: str,
        body_schema: str = "",
        body_types: tuple[str, ...] = (),
        response_types: tuple[str, ...] = RESPONSE_TYPES,
        op_scope: str | None = None,
        id_kind: str = "",
    ) -> None:
        op_id = f"{verb}{suffix}{scope if op_scope is None else op_scope}{id_kind or r.kind}"
        ops.append(
            Operation(
                path=path,
                method=method,
                operation_id=op_id,
                description=description,
                action=action,
                gvk=r.gvk,
                params=(*params, PRETTY),
                responses=responses,
                body_schema=body_schema,
                body_types=body_types,
                response_types=response_types,
                tag=tag,
            )
        )

    if "list" in verbs:
        add(
            collection,
            "get",
            "list",
            "list",
            (*scope_params, *LIST_PARAMS, WATCH),
            responses={"200": list_schema, "401": ""},
            response_types=(*RESPONSE_TYPES, WATCH_JSON),
            description=f"list or watch objects of kind {r.kind}",
        )
        if r.namespaced:
            add(
                f"{r.root}/{r.resource}",
                "get",
                "list",
                "list",
                (*LIST_PARAMS, WATCH),
                op_scope="",
                id_kind=f"{r.kind}ForAllNamespaces",
                responses={"200": list_schema, "401": ""},
                response_types=(*RESPONSE_TYPES, WATCH_JSON),
                description=f"list or watch objects of kind {r.kind}",
            )
    if "create" in verbs:
        add(
            collection,
            "post",
            "create",
            "post",
            (*scope_params, *WRITE_PARAMS),
            body_schema=kind_schema,
            body_types=BODY_TYPES,
            responses={"200": kind_schema, "201": kind_schema, "202": kind_schema, "401": ""},
            description=f"create a {r.kind}",
        )
    if "deletecollection" in verbs:
        add(
            collection,
            "delete",
            "deleteCollection",
            "deletecollection",
            (*scope_params, *DELETE_PARAMS, *LIST_PARAMS),
            body_schema=DELETE_OPTIONS_SCHEMA,
            body_types=BODY_TYPES,
            responses={"200": STATUS_SCHEMA, "401": ""},
            description=f"delete collection of {r.kind}",
        )
    if "get" in verbs:
        add(
            item,
            "get",
            "read",
            "get",
            (NAME, *scope_params),
            responses={"200": kind_schema, "401": ""},
            description=f"read the specified {r.kind}",
        )
    if "update" in verbs:
        add(
            item,
            "put",
            "replace",
            "put",
            (NAME, *scope_params, *WRITE_PARAMS),
            body_schema=kind_schema,
            body_types=BODY_TYPES,
            responses={"200": kind_schema, "201": kind_schema, "401": ""},
            description=f"replace the specified {r.kind}",
        )
    if "patch" in verbs:
        add(
            item,
            "patch",
            "patch",
            "patch",
            (NAME, *scope_params, *WRITE_PARAMS, FORCE),
            body_schema=PATCH_SCHEMA,
            body_types=_patch_types(r),
            responses={"200": kind_schema, "201": kind_schema, "401": ""},
            description=f"partially update the specified {r.kind}",
        )
    if "delete" in verbs:
        add(
            item,
            "delete",
            "delete",
            "delete",
            (NAME, *scope_params, *DELETE_PARAMS),
            body_schema=DELETE_OPTIONS_SCHEMA,
            body_types=BODY_TYPES,
            responses={"200": STATUS_SCHEMA, "202": STATUS_SCHEMA, "401": ""},
            description=f"delete a {r.kind}",
        )
    if "watch" in verbs:
        watch_prefix = f"{r.root}/watch" + ("/namespaces/{namespace}" if r.namespaced else "")
        watch_types = (*RESPONSE_TYPES, WATCH_JSON)
        add(
            f"{watch_prefix}/{r.resource}/{{name}}",
            "get",
            "watch",
            "watch",
            (NAME, *scope_params, *LIST_PARAMS, WATCH),
            responses={"200": WATCH_EVENT_SCHEMA, "401": ""},
            response_types=watch_types,
            description=f"watch changes to an object of kind {r.kind}",
        )
        add(
            f"{watch_prefix}/{r.resource}",
            "get",
            "watch",
            "watchlist",
            (*scope_params, *LIST_PARAMS, WATCH),
            id_kind=f"{r.kind}List",
            responses={"200": WATCH_EVENT_SCHEMA, "401": ""},
            response_types=watch_types,
            description=f"watch individual changes to a list of {r.kind}",
        )
    for sub in r.subresources:
        ops.extend(_subresource_ops(r, sub, item, scope_params, schema_name, tag, suffix, scope))
    return ops


def _patch_types(resource: ServedResource) -> tuple[str, ...]:
    if resource.strategic_merge_patch:
        return PATCH_TYPES
    return tuple(t for t in PATCH_TYPES if t != STRATEGIC_PATCH)


def _subresource_ops(
    r: ServedResource,
    sub: Subresource,
    item: str,
    scope_params: tuple[Param, ...],
    schema_name: Callable[[GVK], str],
    tag: str,
    suffix: str,
    scope: str,
) -> list[Operation]:
    path = f"{item}/{sub.name}"
    gvk = sub.kind
    schema = schema_name(gvk) if gvk is not None else ""
    label = sub.name[:1].upper() + sub.name[1:]
    out = []
    table = (
        ("get", "get", "read", "get", (), {"200": schema, "401": ""}, "", ()),
        (
            "update",
            "put",
            "replace",
            "put",
            WRITE_PARAMS,
            {"200": schema, "201": schema, "401": ""},
            schema,
            BODY_TYPES,
        ),
        (
            "patch",
            "patch",
            "patch",
            "patch",
            (*WRITE_PARAMS, FORCE),
            {"200": schema, "201": schema, "401": ""},
            PATCH_SCHEMA,
            _patch_types(r),
        ),
        (
            "create",
            "post",
            "create",
            "post",
            WRITE_PARAMS,
            {"200": schema, "201": schema, "202": schema, "401": ""},
            schema,
            BODY_TYPES,
        ),
    )
    for verb, method, op_verb, action, extra, responses, body, body_types in table:
        if verb not in sub.verbs:
            continue
        out.append(
            Operation(
                path=path,
                method=method,
                operation_id=f"{op_verb}{suffix}{scope}{r.kind}{label}",
                description=f"{op_verb} {sub.name} of the specified {r.kind}",
                action=action,
                gvk=gvk,
                params=(NAME, *scope_params, *extra, PRETTY),
                responses=responses,
                body_schema=body,
                body_types=body_types,
                tag=tag,
            )
        )
    return out

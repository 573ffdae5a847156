"""``POST`` of the self-subject reviews: who am I, and what may I do.

What ``kubectl auth whoami`` and ``kubectl auth can-i`` call. Three
create-only, cluster-scoped kinds; nothing is stored, each answer is 201
with the request and its ``status`` filled in, as Kubernetes 1.32 does:

- ``authentication.k8s.io/v1`` SelfSubjectReview: ``status.userInfo`` is the
  authenticated caller (username, uid, groups, extra);
- ``authorization.k8s.io/v1`` SelfSubjectAccessReview: exactly one of
  ``spec.resourceAttributes`` and ``spec.nonResourceAttributes`` (else 422
  naming the field); the registered `Authorizer`
  (`corral.apiserver.authorizer`) decides ``status.allowed``/``reason``;
- ``authorization.k8s.io/v1`` SelfSubjectRulesReview: the rules the caller
  has in ``spec.namespace``. With the allow-all authorizer that is
  everything (``*``); the rules come from `rules_for`, which RBAC replaces.

Bodies are JSON, YAML or protobuf (kubectl sends protobuf).
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.asgi import Response
from corral.apiserver.authorizer import AllowAll, authorizer_of
from corral.apiserver.handlers.context import Verb
from corral.apiserver.handlers.io import (
    body_media_type,
    dry_run,
    object_response,
    parse_document,
    read_raw,
)
from corral.apiserver.store.meta import now_rfc3339
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Authorizer
from corral.machinery.openapi import decoding_context
from corral.machinery.protobuf import CONTENT_TYPE as PROTOBUF
from corral.machinery.protobuf import decode_object
from corral.machinery.status import BadRequest, FieldError, Invalid

AUTHN_GROUP = "authentication.k8s.io"
AUTHZ_GROUP = "authorization.k8s.io"
SSR = "SelfSubjectReview"
SSAR = "SelfSubjectAccessReview"
SSRR = "SelfSubjectRulesReview"
_ANONYMOUS = UserInfo("system:anonymous", groups=("system:unauthenticated",))
_RESOURCE_FIELDS = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


def _user(v: Verb) -> UserInfo:
    return v.request.user if v.request.user is not None else _ANONYMOUS


async def _read(v: Verb) -> dict[str, Any]:
    """The body as an object of the route's kind (an empty body is an empty review)."""
    api_version, kind = v.rt.api_version, v.rt.kind
    ctype = body_media_type(v.request)
    raw = await read_raw(v.request)
    doc: Any = decode_object(raw, api_version, kind) if ctype == PROTOBUF else None
    if ctype != PROTOBUF:
        doc = parse_document(raw, ctype)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise BadRequest(f"{decoding_context(kind, 'v1')}: the body must be a JSON or YAML object")
    given = (doc.get("apiVersion"), doc.get("kind"))
    if any(given) and given != (api_version, kind):
        raise BadRequest(
            f"the body must be a {kind} of {api_version}, "
            f"not {given[1] or '?'} of {given[0] or '?'}"
        )
    for section in ("metadata", "spec"):
        if doc.get(section) is not None and not isinstance(doc[section], dict):
            raise BadRequest(f"{decoding_context(kind, 'v1')}: {section} must be an object")
    return doc


def _answer(v: Verb, doc: dict[str, Any], status: dict[str, Any]) -> Response:
    """The review with its status: a SelfSubjectReview is stamped now; the
    access reviews echo the request's metadata (Go's zero time: null)."""
    meta = dict(doc.get("metadata") or {})
    if v.rt.kind == SSR:
        meta["creationTimestamp"] = now_rfc3339()
    else:
        meta.setdefault("creationTimestamp", None)
    out: dict[str, Any] = {"kind": v.rt.kind, "apiVersion": v.rt.api_version, "metadata": meta}
    if v.rt.kind != SSR:
        out["spec"] = doc.get("spec") or {}
    out["status"] = status
    return object_response(v.request, 201, out)


def user_info(user: UserInfo) -> dict[str, Any]:
    """``status.userInfo`` of a SelfSubjectReview (empty fields left out, as Go does)."""
    info: dict[str, Any] = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {k: list(vals) for k, vals in user.extra.items()}
    return info


async def create_self_subject_review(v: Verb) -> Response:
    dry_run(v.request)
    doc = await _read(v)
    return _answer(v, doc, {"userInfo": user_info(_user(v))})


def _strings(kind: str, obj: Any, path: str, names: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(obj, dict):
        raise BadRequest(f"{decoding_context(kind, 'v1')}: {path} must be an object")
    out = {}
    for name in names:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{decoding_context(kind, 'v1')}: {path}.{name} must be a string")
        out[name] = value or ""
    return out


def access_attributes(spec: dict[str, Any]) -> Attributes:
    """The request a SelfSubjectAccessReview ``spec`` describes (422 unless exactly one kind)."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is None and non_resource is None:
        error = FieldError.required(
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
        raise Invalid(SSAR, "", [error], group=AUTHZ_GROUP)
    if resource is not None and non_resource is not None:
        error = FieldError.invalid(
            "spec.nonResourceAttributes",
            non_resource,
            "cannot be specified in combination with resourceAttributes",
        )
        raise Invalid(SSAR, "", [error], group=AUTHZ_GROUP)
    if resource is not None:
        f = _strings(SSAR, resource, "spec.resourceAttributes", _RESOURCE_FIELDS)
        return Attributes(
            verb=f["verb"],
            group=f["group"],
            version=f["version"],
            resource=f["resource"],
            subresource=f["subresource"],
            namespace=f["namespace"],
            name=f["name"],
        )
    f = _strings(SSAR, non_resource, "spec.nonResourceAttributes", ("path", "verb"))
    return Attributes(verb=f["verb"], resource_request=False, path=f["path"])


async def create_self_subject_access_review(v: Verb) -> Response:
    dry_run(v.request)
    doc = await _read(v)
    attributes = access_attributes(doc.get("spec") or {})
    decision = authorizer_of(v.parts).authorize(_user(v), attributes)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return _answer(v, doc, status)


def rules_for(authorizer: Authorizer, user: UserInfo, namespace: str) -> dict[str, Any]:
    """``status`` of a SelfSubjectRulesReview: what ``user`` may do in ``namespace``.

    Only the allow-all authorizer can list its rules today (everything); any
    other answers an empty, incomplete list until it learns to.
    """
    if isinstance(authorizer, AllowAll):
        return {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    return {
        "resourceRules": [],
        "nonResourceRules": [],
        "incomplete": True,
        "evaluationError": "this authorizer cannot list rules",
    }


async def create_self_subject_rules_review(v: Verb) -> Response:
    dry_run(v.request)
    doc = await _read(v)
    spec = _strings(SSRR, doc.get("spec") or {}, "spec", ("namespace",))
    return _answer(v, doc, rules_for(authorizer_of(v.parts), _user(v), spec["namespace"]))


#: The create handler of each review, by group and resource.
REVIEW_HANDLERS = {
    (AUTHN_GROUP, "selfsubjectreviews"): create_self_subject_review,
    (AUTHZ_GROUP, "selfsubjectaccessreviews"): create_self_subject_access_review,
    (AUTHZ_GROUP, "selfsubjectrulesreviews"): create_self_subject_rules_review,
}

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
  has in ``spec.namespace``, from the authorizer when it can list them
  (``corral.machinery.authz.RulesLister``: RBAC); the allow-all authorizer
  has everything (``*``);
- ``authorization.k8s.io/v1`` SubjectAccessReview (cluster-scoped) and
  LocalSubjectAccessReview (namespaced, resource attributes only, in that
  namespace): the same decision for the user ``spec`` names (``user``,
  ``groups``, ``uid``, ``extra``; at least a user or a group). Who may ask
  is decided like any request (``create`` on the review resource).

Bodies are JSON, YAML or protobuf (kubectl sends protobuf).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

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
from corral.machinery.authz import Attributes, Authorizer, RuleSet, RulesLister
from corral.machinery.openapi import decoding_context
from corral.machinery.protobuf import CONTENT_TYPE as PROTOBUF
from corral.machinery.protobuf import decode_object
from corral.machinery.status import BadRequest, FieldError, Invalid

AUTHN_GROUP = "authentication.k8s.io"
AUTHZ_GROUP = "authorization.k8s.io"
SSR = "SelfSubjectReview"
SSAR = "SelfSubjectAccessReview"
SSRR = "SelfSubjectRulesReview"
SAR = "SubjectAccessReview"
LSAR = "LocalSubjectAccessReview"
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


def _render(rules: RuleSet) -> dict[str, Any]:
    resource = []
    for r in rules.resource_rules:
        out: dict[str, Any] = {"verbs": list(r.verbs)}
        if r.api_groups:
            out["apiGroups"] = list(r.api_groups)
        if r.resources:
            out["resources"] = list(r.resources)
        if r.resource_names:
            out["resourceNames"] = list(r.resource_names)
        resource.append(out)
    non_resource = [
        {"verbs": list(r.verbs), "nonResourceURLs": list(r.non_resource_urls)}
        for r in rules.non_resource_rules
    ]
    status: dict[str, Any] = {
        "resourceRules": resource,
        "nonResourceRules": non_resource,
        "incomplete": rules.incomplete,
    }
    if rules.evaluation_error:
        status["evaluationError"] = rules.evaluation_error
    return status


def rules_for(authorizer: Authorizer, user: UserInfo, namespace: str) -> dict[str, Any]:
    """``status`` of a SelfSubjectRulesReview: what ``user`` may do in ``namespace``.

    The allow-all authorizer has everything; one that lists rules
    (`RulesLister`) answers them; any other an empty, incomplete list.
    """
    if isinstance(authorizer, AllowAll):
        return {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    lister = getattr(authorizer, "rules_for", None)
    if lister is not None:
        return _render(cast(RulesLister, authorizer).rules_for(user, namespace))
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


def _subject(kind: str, spec: dict[str, Any]) -> UserInfo:
    """The user a (Local)SubjectAccessReview ``spec`` asks about (422 if none)."""
    f = _strings(kind, spec, "spec", ("user", "uid"))
    groups = spec.get("groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise BadRequest(f"{decoding_context(kind, 'v1')}: spec.groups must be a list of strings")
    extra_raw = spec.get("extra") or {}
    if not isinstance(extra_raw, dict):
        raise BadRequest(f"{decoding_context(kind, 'v1')}: spec.extra must be an object")
    extra = {str(k): tuple(str(x) for x in v) for k, v in extra_raw.items() if isinstance(v, list)}
    if not f["user"] and not groups:
        error = FieldError.invalid(
            "spec.user", f["user"], "at least one of user or group must be specified"
        )
        raise Invalid(kind, "", [error], group=AUTHZ_GROUP)
    return UserInfo(f["user"], uid=f["uid"], groups=tuple(groups), extra=extra)


def _decide(v: Verb, doc: dict[str, Any], user: UserInfo, attributes: Attributes) -> Response:
    decision = authorizer_of(v.parts).authorize(user, attributes)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return _answer(v, doc, status)


async def create_subject_access_review(v: Verb) -> Response:
    dry_run(v.request)
    doc = await _read(v)
    spec = doc.get("spec") or {}
    user = _subject(SAR, spec)
    return _decide(v, doc, user, access_attributes(spec))


async def create_local_subject_access_review(v: Verb) -> Response:
    dry_run(v.request)
    doc = await _read(v)
    namespace = v.info.namespace
    meta = doc.get("metadata") or {}
    given = meta.get("namespace")
    if given and given != namespace:
        raise BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    spec = doc.get("spec") or {}
    if spec.get("nonResourceAttributes") is not None:
        error = FieldError.invalid(
            "spec.nonResourceAttributes",
            spec["nonResourceAttributes"],
            "disallowed on this kind of request",
        )
        raise Invalid(LSAR, "", [error], group=AUTHZ_GROUP)
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict) and resource.get("namespace") not in (None, "", namespace):
        error = FieldError.invalid(
            "spec.resourceAttributes.namespace",
            resource["namespace"],
            "must match metadata.namespace",
        )
        raise Invalid(LSAR, "", [error], group=AUTHZ_GROUP)
    user = _subject(LSAR, spec)
    attributes = access_attributes(spec)
    if attributes.resource_request:
        attributes = replace(attributes, namespace=namespace)
    doc = {**doc, "metadata": {**meta, "namespace": namespace}}
    return _decide(v, doc, user, attributes)


#: The create handler of each review, by group and resource.
REVIEW_HANDLERS = {
    (AUTHZ_GROUP, "subjectaccessreviews"): create_subject_access_review,
    (AUTHZ_GROUP, "localsubjectaccessreviews"): create_local_subject_access_review,
    (AUTHN_GROUP, "selfsubjectreviews"): create_self_subject_review,
    (AUTHZ_GROUP, "selfsubjectaccessreviews"): create_self_subject_access_review,
    (AUTHZ_GROUP, "selfsubjectrulesreviews"): create_self_subject_rules_review,
}

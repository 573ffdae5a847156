"""``POST …/serviceaccounts/<name>/token``: a TokenRequest (authentication.k8s.io/v1).

What ``kubectl create token`` and the kubelet call. The API server checks
the request and the objects it names, as kube-apiserver's ``TokenREST``
does, then has the `TokenIssuer` registered at start-up
(`set_token_issuer`; ``corral.auth`` implements it) sign the token. Nothing
is stored. Kubernetes' answers:

- the body is a TokenRequest (JSON, YAML or protobuf); a field of the wrong
  type is 400; ``metadata.name``/``namespace``, when given, must be the
  account's (422); a ``metadata.uid`` other than the account's is 409;
- the service account must exist (404 ``serviceaccounts "x" not found``);
- ``spec.expirationSeconds`` defaults to 3600; under 600 or over 2^32 is 422
  ``TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds:
  Invalid value: …``; above `MAX_EXPIRATION_SECONDS` (48 h, our
  ``--service-account-max-token-expiration``) it is shortened, with a
  ``Warning`` header saying so;
- ``spec.audiences`` defaults to the API server's audiences;
- ``spec.boundObjectRef``: a Pod or a Secret (core/v1) in the same
  namespace, which must exist (404) — a pod must run as this account (400;
  a pod naming none runs as ``default``) — and whose uid, if given, must
  match (409); any other kind is 400 ``cannot bind token to object of type
  …``;
- the answer is 201 with the request, its defaults filled in, metadata
  name/namespace/uid/creationTimestamp of the account, and
  ``status.token`` + ``status.expirationTimestamp``.

The token is a credential: it goes into the response body and nowhere else
(no log, no error). Without a registered issuer the subresource is 404.
"""

from __future__ import annotations

from typing import Any, cast

from corral.apiserver.asgi import Response
from corral.apiserver.handlers.context import ServerParts, Verb
from corral.apiserver.handlers.io import (
    body_media_type,
    dry_run,
    object_response,
    parse_document,
    read_raw,
    with_warnings,
)
from corral.apiserver.registry import Registry, ResourceType
from corral.apiserver.store import get_object
from corral.apiserver.store.meta import now_rfc3339
from corral.machinery.openapi import decoding_context
from corral.machinery.protobuf import CONTENT_TYPE as PROTOBUF
from corral.machinery.protobuf import decode_object
from corral.machinery.satoken import BoundRef, TokenIssuer, TokenSpec
from corral.machinery.status import (
    BadRequest,
    Conflict,
    FieldError,
    Invalid,
    NotFoundError,
)

GROUP = "authentication.k8s.io"
API_VERSION = f"{GROUP}/v1"
KIND = "TokenRequest"
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
#: Kubernetes' validation limit.
LIMIT_EXPIRATION_SECONDS = 1 << 32
#: Longer requests are shortened to this (48 hours).
MAX_EXPIRATION_SECONDS = 48 * 3600
_KEY = "token-issuer"
_BINDABLE = {"Pod": "pods", "Secret": "secrets"}


def set_token_issuer(parts: ServerParts, issuer: TokenIssuer) -> None:
    """Serve ``serviceaccounts/token`` with tokens signed by ``issuer``."""
    parts.extra[_KEY] = issuer


def _issuer(parts: ServerParts) -> TokenIssuer:
    issuer = parts.extra.get(_KEY)
    if issuer is None:
        raise NotFoundError()
    return cast(TokenIssuer, issuer)


async def create_token(v: Verb) -> Response:
    issuer = _issuer(v.parts)
    dry_run(v.request)  # checks the parameter; a token request stores nothing anyway
    body = await _read_body(v)
    meta, spec = _section(body, "metadata"), _section(body, "spec")
    _check_metadata(v, meta)
    account = (await get_object(v.backend, v.rt, v.namespace, v.name)).obj
    uid = str(account["metadata"].get("uid", ""))
    if meta.get("uid") and meta["uid"] != uid:
        detail = (
            f"the UID in the token request ({meta['uid']}) does not match the UID of the "
            f"service account ({uid})"
        )
        raise Conflict(KIND, v.name, detail, group=GROUP)

    audiences = _audiences(spec) or issuer.audiences
    seconds = _expiration(spec)
    warnings: list[str] = []
    if seconds > MAX_EXPIRATION_SECONDS:
        warnings.append(
            f"requested expiration of {seconds} seconds shortened to "
            f"{MAX_EXPIRATION_SECONDS} seconds"
        )
        seconds = MAX_EXPIRATION_SECONDS
    pod, secret = await _bound(v, spec)
    issued = issuer.issue(
        TokenSpec(v.namespace, v.name, uid, tuple(audiences), seconds, pod, secret)
    )
    expires = issued.expires.strftime("%Y-%m-%dT%H:%M:%SZ") if issued.expires else ""
    out_meta = {
        **meta,
        "name": v.name,
        "namespace": v.namespace,
        "uid": uid,
        "creationTimestamp": now_rfc3339(),
    }
    out_spec: dict[str, Any] = {"audiences": list(issued.audiences), "expirationSeconds": seconds}
    if spec.get("boundObjectRef") is not None:
        out_spec["boundObjectRef"] = spec["boundObjectRef"]
    answer = {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": out_meta,
        "spec": out_spec,
        "status": {"token": issued.token, "expirationTimestamp": expires},
    }
    return with_warnings(object_response(v.request, 201, answer), warnings)


def _bad(message: str) -> BadRequest:
    return BadRequest(f"{decoding_context(KIND, 'v1')}: {message}")


async def _read_body(v: Verb) -> dict[str, Any]:
    ctype = body_media_type(v.request)
    raw = await read_raw(v.request)
    if ctype == PROTOBUF:
        doc: Any = decode_object(raw, API_VERSION, KIND)
    else:
        doc = parse_document(raw, ctype)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _bad("the body must be a JSON or YAML object")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if (api_version or kind) and (api_version, kind) != (API_VERSION, KIND):
        raise BadRequest(
            f"the body must be a {KIND} of {API_VERSION}, not {kind or '?'} of {api_version or '?'}"
        )
    return doc


def _section(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"{name} must be an object")
    return value


def _check_metadata(v: Verb, meta: dict[str, Any]) -> None:
    errors = []
    for field, wanted in (("name", v.name), ("namespace", v.namespace)):
        given = meta.get(field)
        if given is not None and not isinstance(given, str):
            raise _bad(f"metadata.{field} must be a string")
        if given and given != wanted:
            detail = f"must match the service account {field} if specified"
            errors.append(FieldError.invalid(f"metadata.{field}", given, detail))
    if meta.get("uid") is not None and not isinstance(meta.get("uid"), str):
        raise _bad("metadata.uid must be a string")
    if errors:
        raise Invalid(KIND, v.name, errors, group=GROUP)


def _audiences(spec: dict[str, Any]) -> list[str]:
    value = spec.get("audiences")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise _bad("spec.audiences must be a list of strings")
    return list(value)


def _expiration(spec: dict[str, Any]) -> int:
    value = spec.get("expirationSeconds")
    if value is None:
        return DEFAULT_EXPIRATION_SECONDS
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("spec.expirationSeconds must be an integer")
    if value < MIN_EXPIRATION_SECONDS:
        detail = "may not specify a duration less than 10 minutes"
    elif value > LIMIT_EXPIRATION_SECONDS:
        detail = "may not specify a duration larger than 2^32 seconds"
    else:
        return value
    error = FieldError.invalid("spec.expirationSeconds", value, detail)
    raise Invalid(KIND, "", [error], group=GROUP)


async def _bound(v: Verb, spec: dict[str, Any]) -> tuple[BoundRef | None, BoundRef | None]:
    """The pod or secret the token is bound to (checked), if any."""
    ref = spec.get("boundObjectRef")
    if ref is None:
        return None, None
    if not isinstance(ref, dict):
        raise _bad("spec.boundObjectRef must be an object")
    fields = {k: ref.get(k) or "" for k in ("kind", "apiVersion", "name", "uid")}
    if not all(isinstance(x, str) for x in fields.values()):
        raise _bad("spec.boundObjectRef fields must be strings")
    kind, api_version, name, uid = (fields[k] for k in ("kind", "apiVersion", "name", "uid"))
    group, _, version = api_version.rpartition("/")
    if group or kind not in _BINDABLE:
        raise BadRequest(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    if not name:
        raise BadRequest("Name parameter required.")
    rt = _core(v.parts.registry, _BINDABLE[kind])
    obj = (await get_object(v.backend, rt, v.namespace, name)).obj
    actual = str(obj["metadata"].get("uid", ""))
    if kind == "Pod":
        runs_as = (obj.get("spec") or {}).get("serviceAccountName") or "default"
        if runs_as != v.name:
            raise BadRequest(
                f'cannot bind token for serviceaccount "{v.name}" to pod running with '
                "different serviceaccount name."
            )
    if uid and uid != actual:
        detail = (
            f"the UID in the bound object reference ({uid}) does not match the UID in record. "
            "The object might have been deleted and then recreated"
        )
        raise Conflict(kind, name, detail)
    bound = BoundRef(name, actual)
    return (bound, None) if kind == "Pod" else (None, bound)


def _core(registry: Registry, resource: str) -> ResourceType:
    rt = registry.lookup("", "v1", resource)
    if rt is None:  # the built-in table always has pods and secrets
        raise NotFoundError()
    return rt

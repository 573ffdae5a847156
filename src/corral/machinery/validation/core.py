"""Semantic rules for core/v1 kinds other than Services: Pods, Namespaces, Secrets, ConfigMaps.

What it decides (``pkg/apis/core/validation``, Kubernetes 1.32): a Pod's spec
follows :mod:`.pods`, and an update may change only what Kubernetes lets
change; a Namespace's ``spec.finalizers`` are qualified or standard names;
ConfigMap and Secret keys are ``[-._a-zA-Z0-9]+`` (not ``.``, ``..`` or
``..``-prefixed), their data is at most 1 MiB, a typed Secret carries the keys
its type needs, a Secret's type never changes, and once ``immutable: true`` is
set neither the data nor the flag may change. Built-in kinds also refuse a
single-word finalizer that is not one of Kubernetes' own.
"""

from __future__ import annotations

import base64
import binascii
import json

from corral.machinery.status import FieldError
from corral.machinery.validation.common import Obj, immutable, items, key, mapping, text
from corral.machinery.validation.names import config_key_errors, qualified_name_errors
from corral.machinery.validation.pods import validate_pod_spec

MAX_SECRET_SIZE = 1024 * 1024
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
REDACTED = "<secret contents redacted>"


def kube_finalizer_errors(finalizers: object, path: str) -> list[FieldError]:
    """``validateKubeFinalizerName``: a name without ``/`` must be a standard one."""
    detail = "name is neither a standard finalizer name nor is it fully qualified"
    return [
        FieldError.invalid(path, name, detail)
        for name in map(text, items(finalizers))
        if "/" not in name and name not in STANDARD_FINALIZERS
    ]


def validate_pod(obj: Obj) -> list[FieldError]:
    return validate_pod_spec(mapping(obj.get("spec")), "spec")


def validate_namespace(obj: Obj) -> list[FieldError]:
    path = "spec.finalizers"
    finalizers = mapping(obj.get("spec")).get("finalizers")
    errors = [
        FieldError.invalid(path, name, m)
        for name in map(text, items(finalizers))
        for m in qualified_name_errors(name)
    ]
    return errors + kube_finalizer_errors(finalizers, path)


def _decoded_size(value: object) -> int:
    """The byte length of a base64 ``data`` value (its text length if it does not decode)."""
    raw = text(value)
    try:
        return len(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        return len(raw.encode())


def _key_errors(data: object, path: str) -> list[FieldError]:
    return [
        FieldError.invalid(key(path, k), k, m) for k in mapping(data) for m in config_key_errors(k)
    ]


def validate_config_map(obj: Obj) -> list[FieldError]:
    data, binary = mapping(obj.get("data")), mapping(obj.get("binaryData"))
    errors = _key_errors(data, "data")
    errors.extend(
        FieldError.invalid(key("data", k), k, "duplicate of key present in binaryData")
        for k in data
        if k in binary
    )
    errors.extend(_key_errors(binary, "binaryData"))
    total = sum(len(text(v).encode()) for v in data.values())
    total += sum(_decoded_size(v) for v in binary.values())
    if total > MAX_SECRET_SIZE:
        errors.append(FieldError.too_long("", MAX_SECRET_SIZE))
    return errors


def validate_secret(obj: Obj) -> list[FieldError]:
    data = mapping(obj.get("data"))
    errors = _key_errors(data, "data")
    if sum(_decoded_size(v) for v in data.values()) > MAX_SECRET_SIZE:
        errors.append(FieldError.too_long("data", MAX_SECRET_SIZE))
    errors.extend(_typed_secret_errors(obj, data))
    return errors


def _typed_secret_errors(obj: Obj, data: Obj) -> list[FieldError]:
    kind = text(obj.get("type"))
    if kind == "kubernetes.io/service-account-token":
        annotation = "kubernetes.io/service-account.name"
        annotations = mapping(mapping(obj.get("metadata")).get("annotations"))
        if not text(annotations.get(annotation)):
            return [FieldError.required(key("metadata.annotations", annotation))]
    elif kind in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        name = ".dockercfg" if kind == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if name not in data:
            return [FieldError.required(key("data", name))]
        try:
            parsed = json.loads(base64.b64decode(text(data[name])))
        except (ValueError, binascii.Error) as e:
            return [FieldError.invalid(key("data", name), REDACTED, str(e))]
        if not isinstance(parsed, dict):
            detail = "json: cannot unmarshal into a JSON object"
            return [FieldError.invalid(key("data", name), REDACTED, detail)]
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [FieldError.required("data[username]"), FieldError.required("data[password]")]
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            return [FieldError.required("data[ssh-privatekey]")]
    elif kind == "kubernetes.io/tls":
        return [
            FieldError.required(key("data", k)) for k in ("tls.crt", "tls.key") if k not in data
        ]
    return []


def _immutable_data(new: Obj, old: Obj, fields: tuple[str, ...]) -> list[FieldError]:
    """The ``immutable: true`` contract shared by ConfigMaps and Secrets."""
    if old.get("immutable") is not True:
        return []
    errors = []
    if new.get("immutable") is not True:
        errors.append(FieldError.forbidden("immutable", IMMUTABLE_WHEN_SET))
    for field in fields:
        if (new.get(field) or {}) != (old.get(field) or {}):
            errors.append(FieldError.forbidden(field, IMMUTABLE_WHEN_SET))
    return errors


def validate_config_map_update(new: Obj, old: Obj) -> list[FieldError]:
    return _immutable_data(new, old, ("data", "binaryData"))


def validate_secret_update(new: Obj, old: Obj) -> list[FieldError]:
    errors = immutable(text(new.get("type")), text(old.get("type")), "type")
    return errors + _immutable_data(new, old, ("data",))

"""From a CustomResourceDefinition to the `ResourceType` records that serve it.

One record per ``served`` version, all sharing one storage prefix
(``/registry/<group>/<plural>/``), because conversion is ``None``: the
objects of every version are the same, only ``apiVersion`` differs. Objects
are stored with the storage version's apiVersion; a record of another
version carries a `Conversion` that only rewrites ``apiVersion``. Decided
here as well: the accepted names (``singular`` defaults to the lowercased
kind, ``listKind`` to ``<kind>List``), scope, subresources (status, scale
with its replica paths), printer columns, the version's schema (or "any
fields" when it has none), and the warning sent with writes when the schema
has ``x-kubernetes-validations`` rules, which Corral does not enforce yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from corral.apiserver.crds.defaults import CustomStrategy
from corral.apiserver.registry import CustomInfo, ResourceType
from corral.apiserver.registry.convert import Conversion
from corral.machinery.validation import strategy_for

Obj = dict[str, Any]

CRD_GROUP = "apiextensions.k8s.io"
CRD_RESOURCE = "customresourcedefinitions"
ANY_FIELDS: Mapping[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def accepted_names(crd: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.names`` with Kubernetes' defaults (the would-be ``status.acceptedNames``)."""
    names = dict(_map(_map(crd.get("spec")).get("names")))
    kind = str(names.get("kind") or "")
    names.setdefault("singular", kind.lower())
    if not names["singular"]:
        names["singular"] = kind.lower()
    names.setdefault("listKind", kind + "List")
    if not names["listKind"]:
        names["listKind"] = kind + "List"
    return names


def storage_version(crd: Mapping[str, Any]) -> str:
    """The version marked ``storage`` (the first one if none is: never a bare group)."""
    versions = _versions(crd)
    for version in versions:
        if version.get("storage"):
            return str(version.get("name") or "")
    return str(versions[0].get("name") or "") if versions else ""


def _versions(crd: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    versions = _map(crd.get("spec")).get("versions")
    return [v for v in versions if isinstance(v, Mapping)] if isinstance(versions, list) else []


def has_validation_rules(schema: object) -> bool:
    """True if ``x-kubernetes-validations`` appears anywhere in ``schema``."""
    return any(True for _ in _rule_paths(schema, ""))


def _rule_paths(schema: object, path: str) -> Iterator[str]:
    if isinstance(schema, Mapping):
        if schema.get("x-kubernetes-validations"):
            yield path or "<root>"
        for key, value in schema.items():
            if key != "x-kubernetes-validations":
                yield from _rule_paths(value, f"{path}.{key}" if path else key)
    elif isinstance(schema, list):
        for item in schema:
            yield from _rule_paths(item, path)


def version_schema(version: Mapping[str, Any]) -> Mapping[str, Any]:
    schema = _map(_map(version.get("schema")).get("openAPIV3Schema"))
    return schema or ANY_FIELDS


def resource_types(crd: Mapping[str, Any], names: Mapping[str, Any]) -> list[ResourceType]:
    """One `ResourceType` per served version of ``crd``, named by ``names``."""
    spec = _map(crd.get("spec"))
    group = str(spec.get("group") or "")
    plural = str(names.get("plural") or "")
    kind = str(names.get("kind") or "")
    crd_name = str(_map(crd.get("metadata")).get("name") or "")
    stored = storage_version(crd)
    out = []
    for version in _versions(crd):
        if not version.get("served"):
            continue
        name = str(version.get("name") or "")
        schema = version_schema(version)
        subs = _map(version.get("subresources"))
        scale = _map(subs.get("scale"))
        subresources = tuple(s for s in ("scale", "status") if s in subs)
        warnings: tuple[str, ...] = ()
        if has_validation_rules(schema):
            warnings = (
                f"{kind}.{group}/{name}: x-kubernetes-validations rules are not enforced by "
                "this server; the object was checked against the rest of the schema only",
            )
        info = CustomInfo(
            crd_name=crd_name,
            list_kind=str(names.get("listKind") or kind + "List"),
            schema=schema,
            printer_columns=tuple(
                c for c in version.get("additionalPrinterColumns") or () if isinstance(c, Mapping)
            ),
            spec_replicas_path=str(scale.get("specReplicasPath") or ""),
            status_replicas_path=str(scale.get("statusReplicasPath") or ""),
            label_selector_path=str(scale.get("labelSelectorPath") or ""),
            write_warnings=warnings,
        )
        conversion = None
        if name != stored:
            conversion = Conversion(f"{group}/{name}", f"{group}/{stored}", ())
        out.append(
            ResourceType(
                group,
                name,
                plural,
                str(names.get("singular") or kind.lower()),
                kind,
                spec.get("scope") != "Cluster",
                short_names=_strings(names.get("shortNames")),
                categories=_strings(names.get("categories")),
                subresources=subresources,
                strategy=CustomStrategy(schema, strategy_for(group, plural)),
                conversion=conversion,
                custom=info,
            )
        )
    return out

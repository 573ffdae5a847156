"""Semantic rules for rbac.authorization.k8s.io/v1 (``pkg/apis/rbac/validation``, 1.32).

What it decides: every rule names at least one verb, and either resources
(with at least one apiGroup and one resource) or non-resource URLs (never in a
namespaced Role, never mixed with resources); an aggregated ClusterRole has at
least one valid clusterRoleSelector; a binding refers to a Role or
ClusterRole (ClusterRole only for a ClusterRoleBinding) of the RBAC group by a
valid name, its subjects are ServiceAccounts (with a namespace when the
binding is cluster-wide), Users or Groups; and ``roleRef`` never changes
(``cannot change roleRef``).
"""

from __future__ import annotations

from corral.machinery.status import FieldError
from corral.machinery.validation.common import Obj, items, join, mapping, text
from corral.machinery.validation.names import path_segment_name, subdomain_name
from corral.machinery.validation.workloads import label_selector

RBAC_GROUP = "rbac.authorization.k8s.io"


def _rule_errors(rule: Obj, namespaced: bool, path: str) -> list[FieldError]:
    """``ValidatePolicyRule``."""
    errors: list[FieldError] = []
    if not items(rule.get("verbs")):
        errors.append(
            FieldError.required(join(path, "verbs"), "verbs must contain at least one value")
        )
    urls = items(rule.get("nonResourceURLs"))
    if urls:
        where = join(path, "nonResourceURLs")
        if namespaced:
            detail = "namespaced rules cannot apply to non-resource URLs"
            errors.append(FieldError.invalid(where, urls, detail))
        if any(items(rule.get(f)) for f in ("apiGroups", "resources", "resourceNames")):
            detail = "rules cannot apply to both regular resources and non-resource URLs"
            errors.append(FieldError.invalid(where, urls, detail))
        return errors
    if not items(rule.get("apiGroups")):
        detail = "resource rules must supply at least one api group"
        errors.append(FieldError.required(join(path, "apiGroups"), detail))
    if not items(rule.get("resources")):
        detail = "resource rules must supply at least one resource"
        errors.append(FieldError.required(join(path, "resources"), detail))
    return errors


def _rules_errors(obj: Obj, namespaced: bool) -> list[FieldError]:
    return [
        error
        for i, rule in enumerate(items(obj.get("rules")))
        for error in _rule_errors(mapping(rule), namespaced, f"rules[{i}]")
    ]


def validate_role(obj: Obj) -> list[FieldError]:
    return _rules_errors(obj, namespaced=True)


def validate_cluster_role(obj: Obj) -> list[FieldError]:
    errors = _rules_errors(obj, namespaced=False)
    aggregation = obj.get("aggregationRule")
    if aggregation is not None:
        selectors = items(mapping(aggregation).get("clusterRoleSelectors"))
        if not selectors:
            detail = "at least one clusterRoleSelector required if aggregationRule is non-nil"
            errors.append(FieldError.required("aggregationRule.clusterRoleSelectors", detail))
        for i, selector in enumerate(selectors):
            errors.extend(label_selector(selector, f"aggregationRule.clusterRoleSelectors[{i}]")[1])
    return errors


def _binding_errors(obj: Obj, namespaced: bool) -> list[FieldError]:
    """``ValidateRoleBinding`` / ``ValidateClusterRoleBinding``."""
    ref = mapping(obj.get("roleRef"))
    errors: list[FieldError] = []
    if ref.get("apiGroup") != RBAC_GROUP:
        errors.append(
            FieldError.not_supported("roleRef.apiGroup", text(ref.get("apiGroup")), [RBAC_GROUP])
        )
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        errors.append(FieldError.not_supported("roleRef.kind", text(ref.get("kind")), kinds))
    name = text(ref.get("name"))
    if not name:
        errors.append(FieldError.required("roleRef.name"))
    else:
        errors.extend(
            FieldError.invalid("roleRef.name", name, m) for m in path_segment_name(name, False)
        )
    for i, subject in enumerate(items(obj.get("subjects"))):
        errors.extend(_subject_errors(mapping(subject), namespaced, f"subjects[{i}]"))
    return errors


def _subject_errors(subject: Obj, namespaced: bool, path: str) -> list[FieldError]:
    """``ValidateRoleBindingSubject``."""
    errors: list[FieldError] = []
    name, kind, group = (
        text(subject.get("name")),
        subject.get("kind"),
        text(subject.get("apiGroup")),
    )
    if not name:
        errors.append(FieldError.required(join(path, "name")))
    if kind == "ServiceAccount":
        if name:
            errors.extend(
                FieldError.invalid(join(path, "name"), name, m) for m in subdomain_name(name, False)
            )
        if group:
            errors.append(FieldError.not_supported(join(path, "apiGroup"), group, [""]))
        if not namespaced and not text(subject.get("namespace")):
            errors.append(FieldError.required(join(path, "namespace")))
    elif kind in ("User", "Group"):
        if group != RBAC_GROUP:
            errors.append(FieldError.not_supported(join(path, "apiGroup"), group, [RBAC_GROUP]))
    else:
        kinds = ["ServiceAccount", "User", "Group"]
        errors.append(FieldError.not_supported(join(path, "kind"), text(kind), kinds))
    return errors


def validate_role_binding(obj: Obj) -> list[FieldError]:
    return _binding_errors(obj, namespaced=True)


def validate_cluster_role_binding(obj: Obj) -> list[FieldError]:
    return _binding_errors(obj, namespaced=False)


def validate_binding_update(new: Obj, old: Obj) -> list[FieldError]:
    """A binding's ``roleRef`` is fixed at creation."""
    if mapping(new.get("roleRef")) != mapping(old.get("roleRef")):
        return [FieldError.invalid("roleRef", new.get("roleRef"), "cannot change roleRef")]
    return []

"""Which defaults and rules apply to which resource: the per-kind strategies.

The API server calls, for every write, ``strategy_for(group, resource)`` and
then :meth:`Strategy.default` (mutating the parsed object in place),
:meth:`Strategy.validate_create` or :meth:`Strategy.validate_update`, and turns
a non-empty error list into a 422 ``Invalid``. This module decides, for each
built-in resource, its name format, whether it is namespaced, its defaults and
its semantic rules; any other resource (CRDs, Corral's own kinds) gets the
metadata rules only, with DNS-1123 subdomain names as Kubernetes requires of
custom resources. Schema and type checks are not here (see
``corral.machinery.openapi``).

Order of a call: on create, metadata then kind rules; on update, the kind's
update rules (which may first carry server-assigned values forward, as a
Service's clusterIP), then the metadata update rules (which first carry uid,
timestamps and generation forward when the new object left them out), then
every create-time rule against the new object. ``validate_update`` therefore
may mutate ``new``, exactly where Kubernetes' ``PrepareForUpdate`` and
``BeforeUpdate`` would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from corral.machinery.status import FieldError
from corral.machinery.validation import (
    apps,
    batch,
    classes,
    core,
    networking,
    rbac,
    services,
)
from corral.machinery.validation.common import Obj, immutable, mapping, text
from corral.machinery.validation.defaults_apps import (
    default_daemon_set,
    default_deployment,
    default_replica_set,
    default_stateful_set,
)
from corral.machinery.validation.defaults_batch import default_cron_job, default_job
from corral.machinery.validation.defaults_core import (
    default_claim,
    default_endpoints,
    default_namespace,
    default_persistent_volume,
    default_secret,
    default_service,
)
from corral.machinery.validation.defaults_other import default_binding, default_network_policy
from corral.machinery.validation.defaults_pod import default_pod, default_pod_template
from corral.machinery.validation.meta import validate_object_meta, validate_object_meta_update
from corral.machinery.validation.names import (
    NameFn,
    dns1035_name,
    label_name,
    path_segment_name,
    subdomain_name,
)
from corral.machinery.validation.pods import validate_pod_template, validate_pod_update

Defaulter = Callable[[Obj], None]
Validator = Callable[[Obj], list[FieldError]]
UpdateValidator = Callable[[Obj, Obj], list[FieldError]]


class Strategy(Protocol):
    """What the API server needs from a kind: its defaults and its semantic rules."""

    def default(self, obj: Obj) -> None: ...

    def validate_create(self, obj: Obj) -> list[FieldError]: ...

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]: ...


def _no_defaults(obj: Obj) -> None:
    return None


def _no_rules(obj: Obj) -> list[FieldError]:
    return []


def _no_update_rules(new: Obj, old: Obj) -> list[FieldError]:
    return []


@dataclass(frozen=True, slots=True)
class KindStrategy:
    """A :class:`Strategy` assembled from a kind's name format, scope and rule functions.

    ``namespaced=None`` means the scope is unknown here (the namespace is only
    checked for format); ``builtin`` adds Kubernetes' check that single-word
    finalizers are standard ones; ``rules_with_old``, when set, replaces ``rules`` on
    update for kinds whose rules depend on the old object (a CronJob's schedule).
    """

    name_fn: NameFn = subdomain_name
    namespaced: bool | None = None
    defaults: Defaulter = _no_defaults
    rules: Validator = _no_rules
    update_rules: UpdateValidator = _no_update_rules
    builtin: bool = False
    rules_with_old: UpdateValidator | None = None

    def default(self, obj: Obj) -> None:
        self.defaults(obj)

    def validate_create(self, obj: Obj) -> list[FieldError]:
        return self._meta(obj) + self.rules(obj)

    def _meta(self, obj: Obj) -> list[FieldError]:
        errors = validate_object_meta(obj, self.name_fn, self.namespaced)
        if self.builtin:
            finalizers = mapping(obj.get("metadata")).get("finalizers")
            errors.extend(core.kube_finalizer_errors(finalizers, "metadata.finalizers"))
        return errors

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errors = self.update_rules(new, old)
        errors.extend(validate_object_meta_update(new, old))
        errors.extend(self._meta(new))
        if self.rules_with_old is not None:
            errors.extend(self.rules_with_old(new, old))
        else:
            errors.extend(self.rules(new))
        seen: set[str] = set()
        unique = []
        for error in errors:
            if str(error) not in seen:
                seen.add(str(error))
                unique.append(error)
        return unique


def _default_pod_template(obj: Obj) -> None:
    default_pod_template(obj.get("template"))


def _pod_template(obj: Obj) -> list[FieldError]:
    return validate_pod_template(obj.get("template"), "template")


def _controller_revision(obj: Obj) -> list[FieldError]:
    return [] if "data" in obj else [FieldError.required("data", "data is mandatory")]


def _controller_revision_update(new: Obj, old: Obj) -> list[FieldError]:
    return immutable(new.get("data"), old.get("data"), "data")


def _crd(obj: Obj) -> list[FieldError]:
    spec = mapping(obj.get("spec"))
    name = text(mapping(obj.get("metadata")).get("name"))
    wanted = f"{text(mapping(spec.get('names')).get('plural'))}.{text(spec.get('group'))}"
    if name and name != wanted:
        return [
            FieldError.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        ]
    return []


_ns = partial(KindStrategy, namespaced=True, builtin=True)
_cluster = partial(KindStrategy, namespaced=False, builtin=True)


RBAC = "rbac.authorization.k8s.io"

STRATEGIES: dict[tuple[str, str], KindStrategy] = {
    ("", "pods"): _ns(
        defaults=default_pod, rules=core.validate_pod, update_rules=validate_pod_update
    ),
    ("", "services"): _ns(
        name_fn=dns1035_name,
        defaults=default_service,
        rules=services.validate_service,
        update_rules=services.validate_service_update,
    ),
    ("", "secrets"): _ns(
        defaults=default_secret,
        rules=core.validate_secret,
        update_rules=core.validate_secret_update,
    ),
    ("", "configmaps"): _ns(
        rules=core.validate_config_map, update_rules=core.validate_config_map_update
    ),
    ("", "namespaces"): _cluster(
        name_fn=label_name, defaults=default_namespace, rules=core.validate_namespace
    ),
    ("", "serviceaccounts"): _ns(),
    ("", "endpoints"): _ns(defaults=default_endpoints),
    ("", "events"): _ns(),
    ("", "nodes"): _cluster(),
    ("", "persistentvolumes"): _cluster(
        name_fn=path_segment_name, defaults=default_persistent_volume
    ),
    ("", "persistentvolumeclaims"): _ns(defaults=default_claim),
    ("", "resourcequotas"): _ns(),
    ("", "limitranges"): _ns(),
    ("", "podtemplates"): _ns(defaults=_default_pod_template, rules=_pod_template),
    ("apps", "deployments"): _ns(
        defaults=default_deployment,
        rules=apps.validate_deployment,
        update_rules=apps.selector_immutable,
    ),
    ("apps", "replicasets"): _ns(
        defaults=default_replica_set,
        rules=apps.validate_replica_set,
        update_rules=apps.selector_immutable,
    ),
    ("apps", "statefulsets"): _ns(
        defaults=default_stateful_set,
        rules=apps.validate_stateful_set,
        update_rules=apps.validate_stateful_set_update,
    ),
    ("apps", "daemonsets"): _ns(
        defaults=default_daemon_set,
        rules=apps.validate_daemon_set,
        update_rules=apps.selector_immutable,
    ),
    ("apps", "controllerrevisions"): _ns(
        rules=_controller_revision, update_rules=_controller_revision_update
    ),
    ("batch", "jobs"): _ns(
        defaults=default_job, rules=batch.validate_job, update_rules=batch.validate_job_update
    ),
    ("batch", "cronjobs"): _ns(
        defaults=default_cron_job,
        rules=batch.validate_cron_job,
        rules_with_old=batch.validate_cron_job,
    ),
    (RBAC, "roles"): _ns(name_fn=path_segment_name, rules=rbac.validate_role),
    (RBAC, "clusterroles"): _cluster(name_fn=path_segment_name, rules=rbac.validate_cluster_role),
    (RBAC, "rolebindings"): _ns(
        name_fn=path_segment_name,
        defaults=default_binding,
        rules=rbac.validate_role_binding,
        update_rules=rbac.validate_binding_update,
    ),
    (RBAC, "clusterrolebindings"): _cluster(
        name_fn=path_segment_name,
        defaults=default_binding,
        rules=rbac.validate_cluster_role_binding,
        update_rules=rbac.validate_binding_update,
    ),
    ("coordination.k8s.io", "leases"): _ns(),
    ("events.k8s.io", "events"): _ns(),
    ("networking.k8s.io", "networkpolicies"): _ns(
        defaults=default_network_policy, rules=networking.validate_network_policy
    ),
    ("networking.k8s.io", "ingresses"): _ns(rules=networking.validate_ingress),
    ("networking.k8s.io", "ingressclasses"): _cluster(),
    ("autoscaling", "horizontalpodautoscalers"): _ns(),
    ("scheduling.k8s.io", "priorityclasses"): _cluster(
        defaults=classes.default_priority_class,
        rules=classes.validate_priority_class,
        update_rules=classes.validate_priority_class_update,
    ),
    ("storage.k8s.io", "storageclasses"): _cluster(
        defaults=classes.default_storage_class,
        update_rules=classes.validate_storage_class_update,
    ),
    ("discovery.k8s.io", "endpointslices"): _ns(),
    ("policy", "poddisruptionbudgets"): _ns(rules=networking.validate_pdb),
    # Served by apiextensions-apiserver in Kubernetes: finalizers need only be
    # qualified names (customresourcecleanup.apiextensions.k8s.io).
    ("apiextensions.k8s.io", "customresourcedefinitions"): KindStrategy(
        namespaced=False, rules=_crd
    ),
}

DEFAULT_STRATEGY = KindStrategy()
"""Any other resource: metadata rules with DNS-1123 subdomain names, no defaults."""


def strategy_for(group: str, resource: str) -> Strategy:
    """The strategy of ``resource`` in ``group`` (``""`` is core); metadata-only if unknown."""
    return STRATEGIES.get((group, resource), DEFAULT_STRATEGY)

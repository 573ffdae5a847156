"""The built-in resource table: the Kubernetes 1.32 kinds Corral serves.

Short names, categories, verbs and subresources are those ``kubectl
api-resources`` shows for a Kubernetes 1.32 server; the field-selector
fields are the ones the real API server accepts for each kind (besides
``metadata.name`` and ``metadata.namespace``, which every kind accepts).
events.k8s.io/v1 events are stored with core/v1 events, as in Kubernetes.
"""

from __future__ import annotations

from dataclasses import replace

from corral.apiserver.registry.convert import EVENTS_V1
from corral.apiserver.registry.types import STANDARD_VERBS, ResourceType
from corral.machinery.validation import strategy_for

_POD_FIELDS = {
    f: f
    for f in (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    )
}
_EVENT_FIELDS = {
    "involvedObject.kind": "involvedObject.kind",
    "involvedObject.namespace": "involvedObject.namespace",
    "involvedObject.name": "involvedObject.name",
    "involvedObject.uid": "involvedObject.uid",
    "involvedObject.apiVersion": "involvedObject.apiVersion",
    "involvedObject.resourceVersion": "involvedObject.resourceVersion",
    "involvedObject.fieldPath": "involvedObject.fieldPath",
    "reason": "reason",
    "reportingComponent": "reportingComponent",
    "source": "source.component",
    "type": "type",
}
#: Events expire an hour after their last write by default (kube-apiserver's --event-ttl).
EVENT_TTL = 3600
_NS_VERBS = tuple(v for v in STANDARD_VERBS if v != "deletecollection")
_ALL = ("all",)
#: Create-only reviews: answered, never stored (`corral.apiserver.handlers.selfsubject`).
_REVIEWS = tuple(
    ResourceType(
        group,
        "v1",
        kind.lower() + "s",
        kind.lower(),
        kind,
        namespaced,
        verbs=("create",),
        has_spec=False,
        stored=False,
    )
    for group, kind, namespaced in (
        ("authentication.k8s.io", "SelfSubjectReview", False),
        ("authorization.k8s.io", "LocalSubjectAccessReview", True),
        ("authorization.k8s.io", "SelfSubjectAccessReview", False),
        ("authorization.k8s.io", "SelfSubjectRulesReview", False),
        ("authorization.k8s.io", "SubjectAccessReview", False),
    )
)


def _core(
    resource: str, singular: str, kind: str, namespaced: bool = True, **kw: object
) -> ResourceType:
    return ResourceType("", "v1", resource, singular, kind, namespaced, **kw)  # type: ignore[arg-type]


def builtin_types(event_ttl: int = EVENT_TTL) -> list[ResourceType]:
    """Every built-in resource type, core group first, in discovery order.

    Events expire ``event_ttl`` seconds after their last write.
    """
    st = ("status",)
    scale_st = ("scale", "status")
    types = [
        _core("configmaps", "configmap", "ConfigMap", short_names=("cm",), has_spec=False),
        _core("endpoints", "endpoints", "Endpoints", short_names=("ep",), has_spec=False),
        _core(
            "events",
            "event",
            "Event",
            short_names=("ev",),
            has_spec=False,
            field_paths=_EVENT_FIELDS,
            ttl=event_ttl,
        ),
        _core("limitranges", "limitrange", "LimitRange", short_names=("limits",)),
        _core(
            "namespaces",
            "namespace",
            "Namespace",
            False,
            verbs=_NS_VERBS,
            name_format="label",
            short_names=("ns",),
            subresources=("finalize", "status"),
            has_spec=False,
            field_paths={"status.phase": "status.phase"},
        ),
        _core(
            "nodes",
            "node",
            "Node",
            False,
            short_names=("no",),
            subresources=st,
            field_paths={"spec.unschedulable": "spec.unschedulable"},
        ),
        _core(
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            "PersistentVolumeClaim",
            short_names=("pvc",),
            subresources=st,
        ),
        _core(
            "persistentvolumes",
            "persistentvolume",
            "PersistentVolume",
            False,
            short_names=("pv",),
            subresources=st,
        ),
        _core(
            "pods",
            "pod",
            "Pod",
            short_names=("po",),
            return_deleted_object=True,
            categories=_ALL,
            subresources=("attach", "binding", "eviction", "exec", "log", "portforward", "status"),
            field_paths=_POD_FIELDS,
        ),
        _core(
            "resourcequotas",
            "resourcequota",
            "ResourceQuota",
            short_names=("quota",),
            subresources=st,
        ),
        _core("secrets", "secret", "Secret", has_spec=False, field_paths={"type": "type"}),
        _core(
            "serviceaccounts",
            "serviceaccount",
            "ServiceAccount",
            short_names=("sa",),
            has_spec=False,
            subresources=("token",),
        ),
        _core(
            "services",
            "service",
            "Service",
            short_names=("svc",),
            name_format="label1035",
            return_deleted_object=True,
            categories=_ALL,
            subresources=st,
        ),
        ResourceType(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "customresourcedefinition",
            "CustomResourceDefinition",
            False,
            short_names=("crd", "crds"),
            categories=("api-extensions",),
            subresources=st,
        ),
        *_REVIEWS,
        ResourceType(
            "apps",
            "v1",
            "controllerrevisions",
            "controllerrevision",
            "ControllerRevision",
            True,
            has_spec=False,
        ),
        ResourceType(
            "apps",
            "v1",
            "daemonsets",
            "daemonset",
            "DaemonSet",
            True,
            short_names=("ds",),
            categories=_ALL,
            subresources=st,
        ),
        ResourceType(
            "apps",
            "v1",
            "deployments",
            "deployment",
            "Deployment",
            True,
            short_names=("deploy",),
            categories=_ALL,
            subresources=scale_st,
        ),
        ResourceType(
            "apps",
            "v1",
            "replicasets",
            "replicaset",
            "ReplicaSet",
            True,
            short_names=("rs",),
            categories=_ALL,
            subresources=scale_st,
            field_paths={"status.replicas": "status.replicas"},
        ),
        ResourceType(
            "apps",
            "v1",
            "statefulsets",
            "statefulset",
            "StatefulSet",
            True,
            short_names=("sts",),
            categories=_ALL,
            subresources=scale_st,
        ),
        ResourceType(
            "batch",
            "v1",
            "cronjobs",
            "cronjob",
            "CronJob",
            True,
            short_names=("cj",),
            categories=_ALL,
            subresources=st,
        ),
        ResourceType(
            "batch",
            "v1",
            "jobs",
            "job",
            "Job",
            True,
            categories=_ALL,
            subresources=st,
            field_paths={"status.successful": "status.successful"},
        ),
        ResourceType(
            "autoscaling",
            "v2",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            "HorizontalPodAutoscaler",
            True,
            short_names=("hpa",),
            categories=_ALL,
            subresources=st,
        ),
        ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),
        ResourceType(
            "discovery.k8s.io",
            "v1",
            "endpointslices",
            "endpointslice",
            "EndpointSlice",
            True,
            has_spec=False,
        ),
        ResourceType(
            "events.k8s.io",
            "v1",
            "events",
            "event",
            "Event",
            True,
            short_names=("ev",),
            has_spec=False,
            storage_group="",
            conversion=EVENTS_V1,
            ttl=event_ttl,
            field_paths={"reason": "reason", "type": "type"},
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "ingresses",
            "ingress",
            "Ingress",
            True,
            short_names=("ing",),
            subresources=st,
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "ingressclasses",
            "ingressclass",
            "IngressClass",
            False,
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "networkpolicy",
            "NetworkPolicy",
            True,
            short_names=("netpol",),
        ),
        ResourceType(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            "PodDisruptionBudget",
            True,
            short_names=("pdb",),
            subresources=st,
        ),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "clusterrolebinding",
            "ClusterRoleBinding",
            False,
            has_spec=False,
        ),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "clusterrole",
            "ClusterRole",
            False,
            has_spec=False,
        ),
        ResourceType(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "rolebinding",
            "RoleBinding",
            True,
            has_spec=False,
        ),
        ResourceType(
            "rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True, has_spec=False
        ),
        ResourceType(
            "scheduling.k8s.io",
            "v1",
            "priorityclasses",
            "priorityclass",
            "PriorityClass",
            False,
            short_names=("pc",),
            has_spec=False,
        ),
        ResourceType(
            "storage.k8s.io",
            "v1",
            "storageclasses",
            "storageclass",
            "StorageClass",
            False,
            short_names=("sc",),
            has_spec=False,
        ),
    ]
    # RBAC names are path segments ("system:controller:..."), as in Kubernetes.
    # Defaults and semantic rules per kind come from corral.machinery.validation.
    return [
        replace(
            t,
            name_format="path" if t.group == "rbac.authorization.k8s.io" else t.name_format,
            strategy=strategy_for(t.group, t.resource),
        )
        for t in types
    ]

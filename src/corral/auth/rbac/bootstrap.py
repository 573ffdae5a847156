"""The default RBAC policy every Corral server has, and how it is kept up to date.

As kube-apiserver's bootstrap policy (``plugin/pkg/auth/authorizer/rbac/
bootstrappolicy``), created at start when absent and reconciled when present:

- ``cluster-admin`` (everything; bound to group ``system:masters``);
- ``admin``, ``edit``, ``view``: aggregated from every ClusterRole labelled
  ``rbac.authorization.k8s.io/aggregate-to-<name>: "true"``; ``edit``
  aggregates into ``admin`` and ``view`` into ``edit``, and the
  ``system:aggregate-to-*`` roles carry the built-in rules;
- ``system:basic-user`` (self-subject reviews), ``system:discovery``
  (discovery and OpenAPI paths), both bound to ``system:authenticated``;
  ``system:public-info-viewer`` (health and version), bound to
  ``system:authenticated`` and ``system:unauthenticated``;
- ``corral:user-base`` (Rancher's "user-base"): the self-service identity
  paths ``/v3/users`` and ``/v3/tokens`` (own password, own tokens,
  logout), bound to ``system:authenticated``; the endpoints then ask RBAC
  themselves for what only an admin may do (create a user, reset a
  password); and ``GET /v3/subscribe``, the console's WebSocket, whose every
  watch is then authorized as a request of its own;
- Corral's own components: ``system:kube-controller-manager`` (the
  controller manager and its scheduler, user ``system:kube-controller-
  manager``), ``system:node`` (group ``system:nodes``: the simulated
  nodes, users ``system:node:<name>``) and ``system:corral-management``
  (local users and tokens), least privilege for what they do.

Reconciling follows the ``rbac.authorization.kubernetes.io/autoupdate``
annotation: unless it is ``"false"``, rules the stored role lacks are
added (nothing is removed), missing labels and aggregation selectors are
added, and a binding gets back missing subjects.
"""

from __future__ import annotations

from typing import Any

from corral.auth.rbac.escalation import covers
from corral.auth.rbac.rules import parse_rules
from corral.machinery.jsoncopy import json_copy

AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAPPING = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
#: Corral's local-identity component (users, tokens, password Secrets).
MANAGEMENT_USER = "system:corral-management"
NODES_GROUP = "system:nodes"

Obj = dict[str, Any]
RW = ["create", "delete", "deletecollection", "patch", "update"]
READ = ["get", "list", "watch"]


#: Every signed-in user's own identity paths (see the module docstring).
USER_BASE = "corral:user-base"


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> Obj:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _urls(urls: list[str], verbs: list[str]) -> Obj:
    return {"nonResourceURLs": urls, "verbs": verbs}


def cluster_role(
    name: str, rules: list[Obj], labels: dict[str, str] | None = None, aggregate: str = ""
) -> Obj:
    role: Obj = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {**BOOTSTRAPPING, **(labels or {})},
            "annotations": {AUTOUPDATE: "true"},
        },
        "rules": rules,
    }
    if aggregate:
        role["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {AGGREGATE + aggregate: "true"}}]
        }
    return role


def cluster_role_binding(name: str, role: str, subjects: list[tuple[str, str]]) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": name,
            "labels": dict(BOOTSTRAPPING),
            "annotations": {AUTOUPDATE: "true"},
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}
            for kind, subject in subjects
        ],
    }


def _view_rules() -> list[Obj]:
    return [
        _rule(
            [""],
            [
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
            ],
            READ,
        ),
        _rule(
            [""],
            [
                "bindings",
                "events",
                "limitranges",
                "namespaces/status",
                "pods/log",
                "pods/status",
                "replicationcontrollers/status",
                "resourcequotas",
                "resourcequotas/status",
            ],
            READ,
        ),
        _rule([""], ["namespaces"], READ),
        _rule(["discovery.k8s.io"], ["endpointslices"], READ),
        _rule(
            ["apps"],
            [
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            READ,
        ),
        _rule(
            ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], READ
        ),
        _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
        _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
        _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
    ]


def _edit_rules() -> list[Obj]:
    return [
        _rule(
            [""],
            [
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "secrets",
                "services/proxy",
            ],
            READ,
        ),
        _rule([""], ["serviceaccounts"], ["impersonate"]),
        _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], RW),
        _rule([""], ["pods/eviction"], ["create"]),
        _rule(
            [""],
            [
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            RW,
        ),
        _rule([""], ["serviceaccounts/token"], ["create"]),
        _rule(
            ["apps"],
            [
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            RW,
        ),
        _rule(["autoscaling"], ["horizontalpodautoscalers"], RW),
        _rule(["batch"], ["cronjobs", "jobs"], RW),
        _rule(["policy"], ["poddisruptionbudgets"], RW),
        _rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], RW),
        _rule(["coordination.k8s.io"], ["leases"], [*READ, *RW]),
    ]


def _admin_rules() -> list[Obj]:
    return [
        _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
        _rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"], [*READ, *RW]),
    ]


def _controller_manager_rules() -> list[Obj]:
    """What Corral's controllers do (corral.kube.manager): the garbage collector,
    namespace deletion and quota read and change any kind; they create only
    the kinds their controllers make; the scheduler binds pods."""
    return [
        _rule(["*"], ["*"], [*READ, "update", "patch", "delete", "deletecollection"]),
        _rule(
            [""],
            [
                "pods",
                "pods/binding",
                "pods/eviction",
                "configmaps",
                "endpoints",
                "events",
                "persistentvolumeclaims",
                "secrets",
                "serviceaccounts",
            ],
            ["create"],
        ),
        _rule(["apps"], ["replicasets", "controllerrevisions"], ["create"]),
        _rule(["batch"], ["jobs"], ["create"]),
        _rule(["discovery.k8s.io"], ["endpointslices"], ["create"]),
        _rule(["events.k8s.io"], ["events"], ["create"]),
        _rule(["coordination.k8s.io"], ["leases"], ["create"]),
        _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
        # the clusterrole-aggregation controller writes aggregated rules
        _rule(["rbac.authorization.k8s.io"], ["clusterroles"], ["escalate"]),
        _urls(["/api", "/api/*", "/apis", "/apis/*", "/version"], ["get"]),
    ]


def _management_rules() -> list[Obj]:
    """Corral's identity component: its own kinds and CRDs, the namespace and
    Secrets of local passwords, and the ``corral-admin`` binding (which
    Kubernetes' escalation check lets it make only with ``bind`` on
    cluster-admin)."""
    return [
        _rule(["management.corral.io"], ["users", "tokens"], [*READ, *RW]),
        _rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], [*READ, "create"]),
        _rule([""], ["namespaces"], ["get", "create"]),
        _rule([""], ["secrets"], ["get", "create", "update", "patch", "delete"]),
        _rule(["rbac.authorization.k8s.io"], ["clusterrolebindings"], ["get", "create"]),
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles"],
            "resourceNames": ["cluster-admin"],
            "verbs": ["bind"],
        },
    ]


def _node_rules() -> list[Obj]:
    """A node's rights (Kubernetes' ``system:node``): its Node, its pods' status,
    its Lease, events, and reading what its pods use."""
    return [
        _rule([""], ["nodes"], [*READ, "create", "update", "patch", "delete"]),
        _rule([""], ["nodes/status"], ["patch", "update"]),
        _rule([""], ["pods"], [*READ, "create", "delete"]),
        _rule([""], ["pods/status"], ["patch", "update"]),
        _rule([""], ["pods/eviction"], ["create"]),
        _rule(
            [""],
            [
                "configmaps",
                "secrets",
                "services",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumes",
                "serviceaccounts",
            ],
            READ,
        ),
        _rule([""], ["serviceaccounts/token"], ["create"]),
        _rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
        _rule(["coordination.k8s.io"], ["leases"], [*READ, "create", "update", "patch", "delete"]),
        _rule(["discovery.k8s.io"], ["endpointslices"], READ),
    ]


def default_policy() -> list[tuple[str, Obj]]:
    """Every bootstrap ClusterRole, then every ClusterRoleBinding, as ``(resource, object)``."""
    admin, edit, view = AGGREGATE + "admin", AGGREGATE + "edit", AGGREGATE + "view"
    everything = [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]
    health = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
    roles = [
        cluster_role("cluster-admin", everything),
        cluster_role("admin", [], aggregate="admin"),
        cluster_role("edit", [], {admin: "true"}, aggregate="edit"),
        cluster_role("view", [], {edit: "true"}, aggregate="view"),
        cluster_role("system:aggregate-to-admin", _admin_rules(), {admin: "true"}),
        cluster_role("system:aggregate-to-edit", _edit_rules(), {edit: "true"}),
        cluster_role("system:aggregate-to-view", _view_rules(), {view: "true"}),
        cluster_role(
            "system:basic-user",
            [
                _rule(
                    ["authorization.k8s.io"],
                    ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    ["create"],
                ),
                _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
            ],
        ),
        cluster_role(
            "system:discovery",
            [
                _urls(
                    [
                        "/api",
                        "/api/*",
                        "/apis",
                        "/apis/*",
                        "/healthz",
                        "/livez",
                        "/openapi",
                        "/openapi/*",
                        "/readyz",
                        "/version",
                        "/version/",
                    ],
                    ["get"],
                )
            ],
        ),
        cluster_role("system:public-info-viewer", [_urls(health, ["get"])]),
        cluster_role(
            USER_BASE,
            [
                _urls(["/v3/users", "/v3/users/*", "/v3/tokens", "/v3/tokens/*"], ["*"]),
                _urls(["/v3/subscribe"], ["get"]),
            ],
        ),
        cluster_role(CONTROLLER_MANAGER_USER, _controller_manager_rules()),
        cluster_role(MANAGEMENT_USER, _management_rules()),
        cluster_role("system:node", _node_rules()),
    ]
    bindings = [
        cluster_role_binding("cluster-admin", "cluster-admin", [("Group", "system:masters")]),
        cluster_role_binding(
            "system:basic-user", "system:basic-user", [("Group", "system:authenticated")]
        ),
        cluster_role_binding(
            "system:discovery", "system:discovery", [("Group", "system:authenticated")]
        ),
        cluster_role_binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            [("Group", "system:authenticated"), ("Group", "system:unauthenticated")],
        ),
        cluster_role_binding(USER_BASE, USER_BASE, [("Group", "system:authenticated")]),
        cluster_role_binding(
            CONTROLLER_MANAGER_USER, CONTROLLER_MANAGER_USER, [("User", CONTROLLER_MANAGER_USER)]
        ),
        cluster_role_binding(MANAGEMENT_USER, MANAGEMENT_USER, [("User", MANAGEMENT_USER)]),
        cluster_role_binding("system:node", "system:node", [("Group", NODES_GROUP)]),
    ]
    return [("clusterroles", r) for r in roles] + [("clusterrolebindings", b) for b in bindings]


def reconcile(resource: str, stored: Obj, wanted: Obj) -> Obj | None:
    """``stored`` with what ``wanted`` adds (None: nothing to change or autoupdate off)."""
    meta = stored.get("metadata") or {}
    if (meta.get("annotations") or {}).get(AUTOUPDATE) == "false":
        return None
    out = json_copy(stored)
    out_meta = out.setdefault("metadata", {})
    changed = False
    for field in ("labels", "annotations"):
        have = out_meta.get(field) or {}
        for key, value in (wanted["metadata"].get(field) or {}).items():
            if key not in have:
                have[key] = value
                changed = True
        out_meta[field] = have
    if resource == "clusterroles":
        if "aggregationRule" in wanted:
            selectors = (out.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            for selector in wanted["aggregationRule"]["clusterRoleSelectors"]:
                if selector not in selectors:
                    selectors.append(selector)
                    changed = True
            out["aggregationRule"] = {"clusterRoleSelectors": selectors}
        else:
            have = out.get("rules") or []
            held = parse_rules(have)
            for rule in wanted["rules"]:
                if covers(held, parse_rules([rule])):
                    have.append(rule)
                    changed = True
            out["rules"] = have
    else:
        subjects = out.get("subjects") or []
        keys = {(s.get("kind"), s.get("name")) for s in subjects if isinstance(s, dict)}
        for subject in wanted["subjects"]:
            if (subject["kind"], subject["name"]) not in keys:
                subjects.append(subject)
                changed = True
        out["subjects"] = subjects
    return out if changed else None

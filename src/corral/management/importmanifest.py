"""The import manifest: what ``kubectl apply -f <server>/v3/import/<token>_<cluster>.yaml`` creates.

Applied to any Kubernetes cluster, it makes (issue 9 part 2; the names are
the contract the agent's in-cluster mode reads):

- Namespace ``corral-system``;
- ServiceAccount ``corral-system/corral-agent``;
- ClusterRole ``corral-agent`` with what the agent needs: impersonate users
  and groups (the proxy acts as the Corral user), read nodes, pods, events
  and namespaces (cluster health), manage ClusterRoleBindings and ``bind``
  ``cluster-admin`` (the downstream bindings of global admins and the
  creator); and ClusterRoleBinding ``corral-agent`` giving it to the
  service account;
- Secret ``corral-system/corral-agent-token`` of type
  ``kubernetes.io/service-account-token``: a token that does not expire
  (projected tokens do), which the agent registers with the server;
- Secret ``corral-system/corral-credentials``: keys ``url`` (the server
  URL), ``token`` (the registration token) and ``ca-checksum``;
- Deployment ``corral-system/corral-agent``: one replica of ``corral
  agent`` from the ``agent-image`` Setting, with ``CORRAL_SERVER``,
  ``CORRAL_TOKEN`` and ``CORRAL_CA_CHECKSUM`` from ``corral-credentials``
  (never in the pod spec itself), and the token Secret mounted read-only at
  `AGENT_TOKEN_DIR`.

Objects are joined as a multi-document YAML stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import yaml

AGENT_NAMESPACE: Final = "corral-system"
AGENT_NAME: Final = "corral-agent"
AGENT_TOKEN_SECRET: Final = "corral-agent-token"  # noqa: S105 (a name)
CREDENTIALS_SECRET: Final = "corral-credentials"  # noqa: S105 (a name)
AGENT_TOKEN_DIR: Final = "/var/run/secrets/corral.io/agent-token"  # noqa: S105 (a path)
#: The keys of `CREDENTIALS_SECRET` and the environment variables they become.
CREDENTIAL_ENV: Final = (
    ("url", "CORRAL_SERVER"),
    ("token", "CORRAL_TOKEN"),
    ("ca-checksum", "CORRAL_CA_CHECKSUM"),
)
LABELS: Final = {"app.kubernetes.io/name": AGENT_NAME, "app.kubernetes.io/part-of": "corral"}

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ImportParameters:
    """What one cluster's manifest carries."""

    cluster: str
    server_url: str
    token: str
    ca_checksum: str
    image: str


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": dict(LABELS)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def agent_cluster_role() -> Obj:
    """The ClusterRole ``corral-agent`` (also what ``corral agent --kubeconfig`` makes)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(AGENT_NAME),
        "rules": [
            {"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]},
            {
                "apiGroups": [""],
                "resources": ["nodes", "pods", "events", "namespaces"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterrolebindings"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "resourceNames": ["cluster-admin"],
                "verbs": ["bind"],
            },
        ],
    }


def manifest_objects(params: ImportParameters) -> list[Obj]:
    """The objects of the manifest, in the order they must be applied."""
    env = [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": key}}}
        for key, var in CREDENTIAL_ENV
    ]
    selector = {"app.kubernetes.io/name": AGENT_NAME}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(AGENT_NAMESPACE)},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(AGENT_NAME, AGENT_NAMESPACE),
        },
        agent_cluster_role(),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(AGENT_NAME),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": AGENT_NAME,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": AGENT_NAME, "namespace": AGENT_NAMESPACE}
            ],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                **_meta(AGENT_TOKEN_SECRET, AGENT_NAMESPACE),
                "annotations": {"kubernetes.io/service-account.name": AGENT_NAME},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                **_meta(CREDENTIALS_SECRET, AGENT_NAMESPACE),
                "annotations": {"corral.io/cluster-id": params.cluster},
            },
            "stringData": {
                "url": params.server_url,
                "token": params.token,
                "ca-checksum": params.ca_checksum,
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(AGENT_NAME, AGENT_NAMESPACE),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": {**LABELS}},
                    "spec": {
                        "serviceAccountName": AGENT_NAME,
                        "containers": [
                            {
                                "name": "agent",
                                "image": params.image,
                                "imagePullPolicy": "IfNotPresent",
                                "args": ["agent"],
                                "env": env,
                                "volumeMounts": [
                                    {
                                        "name": "agent-token",
                                        "mountPath": AGENT_TOKEN_DIR,
                                        "readOnly": True,
                                    }
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "agent-token", "secret": {"secretName": AGENT_TOKEN_SECRET}}
                        ],
                    },
                },
            },
        },
    ]


def render_manifest(params: ImportParameters) -> bytes:
    """The manifest as a multi-document YAML stream."""
    text = yaml.safe_dump_all(manifest_objects(params), sort_keys=False, explicit_start=True)
    return text.encode()

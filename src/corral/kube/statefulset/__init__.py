"""The StatefulSet controller (Kubernetes' ``StatefulSetController``), as a package.

- `identity`: a member pod's name, labels, hostname, subdomain and claims,
  and the claims' owner references under the retention policy (pure);
- `control`: one sync — revisions, ordered or parallel pod management,
  scale down, RollingUpdate with partition (and maxUnavailable) or
  OnDelete, status, history;
- `controller`: informers, pod event routing, claiming pods.

ControllerRevision helpers shared with the DaemonSet controller live in
`corral.kube.revisions`. The design note is docs/kube.md ("StatefulSets").
"""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable
from corral.kube.statefulset.controller import StatefulSetController


def build(ctx: KubeContext) -> list[Runnable]:
    return [StatefulSetController(ctx)]


__all__ = ["StatefulSetController", "build"]

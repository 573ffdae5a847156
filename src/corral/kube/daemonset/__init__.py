"""The DaemonSet controller (Kubernetes' ``DaemonSetsController``), as a package.

- `placement`: which nodes a DaemonSet should run on (selector, node
  affinity, taints against tolerations) and the pod it puts there (the
  automatic daemon tolerations, a node affinity on ``metadata.name``);
- `plan`: what a sync should create and delete (per-node management,
  RollingUpdate with maxUnavailable / maxSurge) and the status counts;
- `controller`: informers, node and pod event routing, expectations,
  ControllerRevisions (`corral.kube.revisions`), the writes.

The design note is docs/kube.md ("DaemonSets").
"""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable
from corral.kube.daemonset.controller import DaemonSetController


def build(ctx: KubeContext) -> list[Runnable]:
    return [DaemonSetController(ctx)]


__all__ = ["DaemonSetController", "build"]

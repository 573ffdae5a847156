"""The Deployment controller (Kubernetes' ``DeploymentController``), as a package.

- `util`: pure arithmetic on Deployments and ReplicaSets (annotations,
  revisions, maxSurge/maxUnavailable, proportional scaling, conditions);
- `rollout`: the steps of one sync (scale, RollingUpdate, Recreate,
  cleanup, status and the Progressing condition);
- `controller`: informers, event routing, claiming ReplicaSets.

The pod-template hash lives in `corral.kube.templatehash` (other
controllers and tests use it too).
"""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable
from corral.kube.deployment.controller import DeploymentController


def build(ctx: KubeContext) -> list[Runnable]:
    return [DeploymentController(ctx)]


__all__ = ["DeploymentController", "build"]

"""Placeholder: the replicaset controller is being written (build returns nothing yet)."""

from __future__ import annotations

from corral.kube.context import KubeContext, Runnable


def build(ctx: KubeContext) -> list[Runnable]:
    return []

"""The clusterrole-aggregation controller: aggregated ClusterRoles carry their rules.

A ClusterRole with ``aggregationRule.clusterRoleSelectors`` (``admin``,
``edit``, ``view``, or a user's own) should list the rules of every other
ClusterRole whose labels match one of the selectors. Kubernetes'
``clusterrole-aggregation`` controller writes them into the role's
``rules``; this one does the same, so ``kubectl get clusterrole admin -o
yaml`` shows what ``admin`` grants. The order is the matching roles' names,
then their rules; duplicates are dropped. Any ClusterRole change queues
every aggregated role (they are few).

The API server's RBAC index computes the same union itself, so
authorization never waits for this controller; writing the rules needs
``escalate`` on clusterroles, which the controller manager's role has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corral.auth.rbac.index import aggregation_selectors
from corral.controller import Informer
from corral.controller.indexer import Obj
from corral.kube.context import KubeContext, Runnable
from corral.kube.enqueue import enqueue, new_controller
from corral.kube.resources import CLUSTER_ROLES
from corral.machinery.labels import Selector
from corral.machinery.status import NotFound


def aggregated_rules(name: str, wanted: Sequence[Selector], roles: list[Obj]) -> list[Any]:
    """The rules of every role in ``roles`` (other than ``name``) a selector matches."""
    out: list[Any] = []
    for role in sorted(roles, key=lambda r: str((r.get("metadata") or {}).get("name", ""))):
        meta = role.get("metadata") or {}
        if meta.get("name") == name:
            continue
        labels = meta.get("labels") or {}
        if any(s.matches(labels) for s in wanted):
            for rule in role.get("rules") or []:
                if rule not in out:
                    out.append(rule)
    return out


class AggregationController:
    """Writes the aggregated rules into one aggregated ClusterRole per pass."""

    def __init__(self, ctx: KubeContext, roles: Informer) -> None:
        self.client = ctx.client
        self.roles = roles

    async def sync(self, key: str, role: Obj | None) -> None:
        if role is None:
            return
        wanted = aggregation_selectors(role)
        if wanted is None:
            return
        rules = aggregated_rules(key, wanted, self.roles.indexer.list())
        if rules == (role.get("rules") or []):
            return
        body = {**role, "rules": rules}
        try:  # a Conflict (changed meanwhile) is retried by the queue
            await self.client.update(CLUSTER_ROLES, body)
        except NotFound:
            return


def build(ctx: KubeContext) -> list[Runnable]:
    roles = ctx.informers.informer(CLUSTER_ROLES)
    controller = new_controller(ctx, "clusterrole-aggregation", roles)
    controller.on_change("aggregate", AggregationController(ctx, roles).sync)

    def queue_aggregated(*_: Obj) -> None:
        for role in roles.indexer.list():
            if aggregation_selectors(role) is not None:
                enqueue(controller, str((role.get("metadata") or {}).get("name", "")))

    roles.on_add(queue_aggregated)
    roles.on_update(queue_aggregated)
    roles.on_delete(queue_aggregated)
    return [controller]

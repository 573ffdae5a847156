"""The RBAC index follows the watch caches, also after its subscription is cut.

In-process (memory backend): `ObjectFeed` applies creates, updates and
deletes of RBAC objects to a `PolicyIndex`; when a subscription ends (as it
does when a watcher falls behind or the cache re-lists), the feed
subscribes again and keeps following.
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.objectfeed import ObjectFeed
from corral.auth.rbac import RBAC_GROUP, RBAC_RESOURCES, PolicyIndex, RBACAuthorizer
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes
from inprocess import inprocess_api
from polling import eventually

RBAC = "/apis/rbac.authorization.k8s.io/v1"
ALICE = UserInfo("alice", groups=("system:authenticated",))
GET_PODS = Attributes("get", resource="pods", namespace="default")


def binding(name: str, role: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "User", "name": "alice"}],
    }


async def test_feed_follows_changes_and_resubscribes() -> None:
    async with inprocess_api() as api:
        index = PolicyIndex()
        authz = RBACAuthorizer(index)
        feed = ObjectFeed(api.kube.api.parts, RBAC_GROUP, "v1", RBAC_RESOURCES, index)
        feed.start()
        try:
            await eventually(feed.synced.is_set, "feed synced", deadline=10)
            role = {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "pod-reader"},
                "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
            }
            assert (await api.http.post(f"{RBAC}/clusterroles", json=role)).status_code == 201
            resp = await api.http.post(
                f"{RBAC}/clusterrolebindings", json=binding("b1", "pod-reader")
            )
            assert resp.status_code == 201
            await eventually(
                lambda: authz.authorize(ALICE, GET_PODS).allowed, "granted", deadline=10
            )

            # cut every subscription of the bindings cache, then change things
            rt = api.kube.api.parts.registry.lookup(RBAC_GROUP, "v1", "clusterrolebindings")
            assert rt is not None
            cache = api.kube.caches[rt.storage_prefix]
            for watcher in list(cache._watchers):
                watcher.close()
            assert (await api.http.delete(f"{RBAC}/clusterrolebindings/b1")).status_code == 200
            await eventually(
                lambda: not authz.authorize(ALICE, GET_PODS).allowed, "revoked", deadline=10
            )
            resp = await api.http.post(
                f"{RBAC}/clusterrolebindings", json=binding("b2", "pod-reader")
            )
            assert resp.status_code == 201
            await eventually(lambda: authz.authorize(ALICE, GET_PODS).allowed, "again", deadline=10)
            assert index.binding_count == 1
        finally:
            await feed.stop()

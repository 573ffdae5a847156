"""Who is cluster-admin in an imported cluster: global admins and the cluster's creator.

Until role templates exist (issue 9, part 6), a downstream cluster grants
exactly two kinds of Corral user anything: global admins (Corral Users the
management server's authorizer lets ``update``
``clusters.management.corral.io``) and the user named in the Cluster's
``corral.io/creator-id`` annotation. Everyone else has nothing there. The
rule is `corral.management.clusteraccess.may_use_cluster`, the proxy's, so
who may reach a cluster and who is bound in it never disagree.

Decisions:

- One ClusterRoleBinding per user, ``corral-admin-<user>`` (subject
  ``User <name>``, roleRef ``cluster-admin``), labelled
  ``corral.io/managed=true`` and annotated with the user name. A user name
  that is not a valid object-name part gets a stable hash instead.
- Only existing, enabled Users qualify: a deleted or disabled user loses
  the binding even if the annotation still names them.
- `sync_bindings` lists the managed bindings, deletes those of users who no
  longer qualify (and any whose content was changed by hand), and creates the
  missing ones. Bindings without the label are never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from corral.auth import LOCAL_GROUP
from corral.client import Client
from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo
from corral.machinery.authz import Authorizer
from corral.machinery.status import AlreadyExists, NotFound
from corral.management.clusteraccess import may_use_cluster
from corral.management.clusterhealth.kinds import CLUSTER_ROLE_BINDINGS

PREFIX = "corral-admin-"
MANAGED_LABEL = "corral.io/managed"
USER_ANNOTATION = "corral.io/user"
_NAME_PART = re.compile(r"[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?")


def binding_name(user: str) -> str:
    """``corral-admin-<user>``, or a hash of the name when it cannot be part of one."""
    if _NAME_PART.fullmatch(user):
        return PREFIX + user
    return PREFIX + "u-" + hashlib.sha256(user.encode()).hexdigest()[:16]


def corral_user_info(name: str) -> UserInfo:
    """The identity a Corral User signs in with (what the authorizer is asked about)."""
    return UserInfo(name=name, groups=(AUTHENTICATED_GROUP, LOCAL_GROUP))


def active_users(users: Iterable[Mapping[str, Any]]) -> set[str]:
    """The names of the Users that may sign in (not disabled)."""
    names = set()
    for user in users:
        name = (user.get("metadata") or {}).get("name")
        if isinstance(name, str) and name and user.get("enabled") is not False:
            names.add(name)
    return names


def entitled(authorizer: Authorizer, cluster: Mapping[str, Any], users: set[str]) -> set[str]:
    """The users (of ``users``) who get cluster-admin in ``cluster``: admins and its creator."""
    return {u for u in users if may_use_cluster(authorizer, corral_user_info(u), cluster)}


def binding_for(user: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": binding_name(user),
            "labels": {MANAGED_LABEL: "true"},
            "annotations": {USER_ANNOTATION: user},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }


def _as_wanted(found: Mapping[str, Any], user: str) -> bool:
    wanted = binding_for(user)
    return bool(
        found.get("roleRef") == wanted["roleRef"] and found.get("subjects") == wanted["subjects"]
    )


async def sync_bindings(client: Client, users: set[str]) -> None:
    """Make the managed ClusterRoleBindings of the downstream ``client`` exactly ``users``'."""
    page = await client.list(CLUSTER_ROLE_BINDINGS, label_selector=f"{MANAGED_LABEL}=true")
    have: dict[str, Mapping[str, Any]] = {}
    for item in page.get("items") or []:
        have[str((item.get("metadata") or {}).get("name"))] = item
    wanted = {binding_name(user): user for user in users}
    for name, item in have.items():
        user = wanted.get(name)
        if user is not None and _as_wanted(item, user):
            continue
        with contextlib.suppress(NotFound):  # deleted meanwhile; re-created below if wanted
            await client.delete(CLUSTER_ROLE_BINDINGS, name)
    for name, user in wanted.items():
        item = have.get(name)
        if item is not None and _as_wanted(item, user):
            continue
        with contextlib.suppress(AlreadyExists):  # made meanwhile; the next pass checks it
            await client.create(CLUSTER_ROLE_BINDINGS, binding_for(user))

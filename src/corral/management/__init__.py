"""Corral's management layer: its own kinds and the services around them.

So far, local identity (docs/identity.md): the ``User`` and ``Token`` kinds of
``management.corral.io`` (served as CRDs the server installs), local users
with argon2id passwords kept in Secrets, the bootstrap ``admin``, login and
logout, API keys, and the forced password change. `Identity` assembles them
for start-up.

Clusters (docs/clusters.md, issue 9): the ``Cluster``,
``ClusterRegistrationToken`` and ``Setting`` kinds (`clusterkinds`), their
admission checks, the cluster controller (namespace, registration token,
import commands, cleanup, the ``local`` cluster), `RegistrationTokens`
(which cluster a token registers) and `may_use_cluster` / `ClusterUsers`
(who may use a cluster).

Errors: this package defines none of its own. Bad input and refusals are
``corral.machinery.status.StatusError``s (a ``Status`` naming the field),
as the API server renders them.
"""

from __future__ import annotations

from corral.management.accounts import PASSWORD_NAMESPACE, Accounts
from corral.management.bootstrap import ADMIN_USERNAME, BOOTSTRAP_FILE
from corral.management.clusteraccess import ClusterUsers, may_use_cluster
from corral.management.clusterkinds import (
    AGENT_SECRET,
    CLUSTER_REGISTRATION_TOKENS,
    CLUSTERS,
    CREATOR_ANNOTATION,
    DEFAULT_TOKEN,
    LOCAL_CLUSTER,
    SETTINGS,
)
from corral.management.identity import Identity, IdentityOptions
from corral.management.kinds import GROUP, TOKENS, USERS
from corral.management.registrationtokens import RegistrationTokens
from corral.management.tokens import TokenTTLs, public_view

__all__ = [
    "ADMIN_USERNAME",
    "AGENT_SECRET",
    "BOOTSTRAP_FILE",
    "CLUSTERS",
    "CLUSTER_REGISTRATION_TOKENS",
    "CREATOR_ANNOTATION",
    "DEFAULT_TOKEN",
    "GROUP",
    "LOCAL_CLUSTER",
    "PASSWORD_NAMESPACE",
    "SETTINGS",
    "TOKENS",
    "USERS",
    "Accounts",
    "ClusterUsers",
    "Identity",
    "IdentityOptions",
    "RegistrationTokens",
    "TokenTTLs",
    "may_use_cluster",
    "public_view",
]

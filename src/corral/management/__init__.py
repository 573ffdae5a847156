"""Corral's management layer: its own kinds and the services around them.

So far, local identity (docs/identity.md): the ``User`` and ``Token`` kinds of
``management.corral.io`` (served as CRDs the server installs), local users
with argon2id passwords kept in Secrets, the bootstrap ``admin``, login and
logout, API keys, and the forced password change. `Identity` assembles them
for start-up.

Errors: this package defines none of its own. Bad input and refusals are
``corral.machinery.status.StatusError``s (a ``Status`` naming the field),
as the API server renders them.
"""

from __future__ import annotations

from corral.management.accounts import PASSWORD_NAMESPACE, Accounts
from corral.management.bootstrap import ADMIN_USERNAME, BOOTSTRAP_FILE
from corral.management.identity import Identity, IdentityOptions
from corral.management.kinds import GROUP, TOKENS, USERS
from corral.management.tokens import TokenTTLs, public_view

__all__ = [
    "ADMIN_USERNAME",
    "BOOTSTRAP_FILE",
    "GROUP",
    "PASSWORD_NAMESPACE",
    "TOKENS",
    "USERS",
    "Accounts",
    "Identity",
    "IdentityOptions",
    "TokenTTLs",
    "public_view",
]

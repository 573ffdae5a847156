"""The API server's authorizer: allow-all until RBAC arrives.

Corral authorizes nothing yet: every authenticated caller may do
everything. `AllowAll` says so honestly, and the self-subject reviews
(`corral.apiserver.handlers.selfsubject`) ask whichever `Authorizer` is
registered on the server parts (`set_authorizer`), so the identity work
only swaps the implementation.
"""

from __future__ import annotations

from typing import cast

from corral.apiserver.handlers.context import ServerParts
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Authorizer, Decision

ALLOW_ALL_REASON = (
    "Corral does not authorize requests yet: every authenticated user may do everything"
)
_KEY = "authorizer"


class AllowAll:
    """Allows every request of every user (Corral's behaviour today)."""

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        return Decision(True, ALLOW_ALL_REASON)


def set_authorizer(parts: ServerParts, authorizer: Authorizer) -> None:
    """Decide access reviews with ``authorizer`` (replacing the allow-all default)."""
    parts.extra[_KEY] = authorizer


def authorizer_of(parts: ServerParts) -> Authorizer:
    """The registered authorizer, `AllowAll` when none is."""
    found = parts.extra.get(_KEY)
    return AllowAll() if found is None else cast(Authorizer, found)

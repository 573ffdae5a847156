"""Which authorizer the API server asks, and the allow-all default.

`corral server` authorizes with RBAC (``corral.auth.rbac``, wired by
``corral.cli.authorization``): the HTTPS filters are given it and the
access reviews (`corral.apiserver.handlers.selfsubject`) find it here
(`set_authorizer`). An app built without one — in-process tests — uses
`AllowAll`, which allows every request of every authenticated user.
"""

from __future__ import annotations

from typing import cast

from corral.apiserver.handlers.context import ServerParts
from corral.machinery.authn import UserInfo
from corral.machinery.authz import Attributes, Authorizer, Decision

ALLOW_ALL_REASON = "no authorizer is configured: every authenticated user may do everything"
_KEY = "authorizer"


class AllowAll:
    """Allows every request of every user (apps built without an authorizer)."""

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        return Decision(True, ALLOW_ALL_REASON)


def set_authorizer(parts: ServerParts, authorizer: Authorizer) -> None:
    """Decide access reviews with ``authorizer`` (replacing the allow-all default)."""
    parts.extra[_KEY] = authorizer


def authorizer_of(parts: ServerParts) -> Authorizer:
    """The registered authorizer, `AllowAll` when none is."""
    found = parts.extra.get(_KEY)
    return AllowAll() if found is None else cast(Authorizer, found)

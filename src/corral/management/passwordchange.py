"""The forced password change: a user who must change their password may do only that.

A local user whose ``User`` has ``mustChangePassword: true`` (a new user
with an initial password, the bootstrap admin) is refused every request
(403, saying what to do) except changing the password and logging out,
until they change it. The filter runs after authentication and reads the
User from the watch cache (`IdentityIndex`), so the moment the change is
stored the user's requests pass. Only callers authenticated by a Corral
token (group ``corral:local``) are concerned: the admin kubeconfig token and
system users are not local users.
"""

from __future__ import annotations

from typing import Final

from corral.apiserver.asgi import AnyResponse, Request
from corral.apiserver.pipeline import Handler
from corral.auth import LOCAL_GROUP, TokenIndex
from corral.machinery.status import Forbidden

MUST_CHANGE: Final = (
    "you must change your password before doing anything else: "
    "POST /v3/users?action=changepassword with currentPassword and newPassword"
)
_ALLOWED: Final = (("/v3/users", "changepassword"), ("/v3/tokens", "logout"))


class RequirePasswordChange:
    """Filter: 403 for users with ``mustChangePassword`` outside the change itself."""

    def __init__(self, index: TokenIndex) -> None:
        self._index = index

    async def __call__(self, request: Request, next_handler: Handler) -> AnyResponse:
        user = request.user
        if user is not None and LOCAL_GROUP in user.groups:
            obj = await self._index.user(user.name)
            if obj is not None and obj.get("mustChangePassword") is True:
                action = (request.query.get("action") or [""])[0]
                path = request.path.rstrip("/")
                if request.method != "POST" or (path, action) not in _ALLOWED:
                    raise Forbidden("", detail=MUST_CHANGE)
        return await next_handler(request)

"""Who is asking: the authentication contract between apiserver and auth.

The API server's first filter hands an `Authenticator` the request headers
(names lower-case, as a plain mapping, so no HTTP framework type crosses
this line) and gets back the `UserInfo` of the caller, or None when the
request carries no credentials this authenticator accepts. An authenticator
never raises for bad credentials: "not authenticated" is an answer, and the
pipeline turns it into a 401. Implementations (bootstrap token, service
account JWTs, sessions, client certificates) live in ``corral.auth``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

#: Group every authenticated user is in (as in Kubernetes).
AUTHENTICATED_GROUP = "system:authenticated"
#: Group whose members may do anything (as in Kubernetes).
MASTERS_GROUP = "system:masters"


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An authenticated caller, as Kubernetes' ``user.Info``."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class Authenticator(Protocol):
    """Turns request headers into a user, or None if it cannot vouch for one."""

    async def authenticate(self, headers: Mapping[str, str]) -> UserInfo | None:
        """The caller's identity from ``headers`` (lower-case names), or None."""
        ...


class UnionAuthenticator:
    """Asks each authenticator in turn; the first that vouches for the caller wins."""

    def __init__(self, *authenticators: Authenticator) -> None:
        self._authenticators = authenticators

    async def authenticate(self, headers: Mapping[str, str]) -> UserInfo | None:
        for authenticator in self._authenticators:
            user = await authenticator.authenticate(headers)
            if user is not None:
                return user
        return None

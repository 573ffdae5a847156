"""Issuing service account tokens: the contract between the API server and auth.

The API server answers ``POST …/serviceaccounts/<name>/token`` (a
TokenRequest) and the tokens controller fills ``kubernetes.io/service-
account-token`` Secrets, but neither may know how a token is made: that is
``corral.auth``'s business (signing key, JWT claims). They meet here, below
both (DESIGN §2): the caller checks the request and the objects it names,
describes the token as a `TokenSpec`, and a `TokenIssuer` turns it into a
signed token. The token string is a credential: whoever holds an
`IssuedToken` must not log it or put it into an error or an event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BoundRef:
    """An object a token is bound to (a Pod or a Secret in the account's namespace)."""

    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """What a token says: whose it is, for whom, for how long, bound to what."""

    namespace: str
    name: str
    uid: str
    #: Who the token is for; empty: the issuer's own audiences (the API server).
    audiences: tuple[str, ...] = ()
    #: Lifetime in seconds; None: the token does not expire (Secret-bound tokens only).
    expiration_seconds: int | None = 3600
    pod: BoundRef | None = None
    secret: BoundRef | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed token (a credential: never log it) and what it ended up saying."""

    token: str
    audiences: tuple[str, ...] = ()
    #: When it stops being valid; None for a token that does not expire.
    expires: dt.datetime | None = None

    def __repr__(self) -> str:  # keep the credential out of reprs and tracebacks
        return f"IssuedToken(audiences={self.audiences!r}, expires={self.expires!r})"


class TokenIssuer(Protocol):
    """Signs service account tokens (implemented by ``corral.auth``)."""

    @property
    def audiences(self) -> tuple[str, ...]:
        """The audiences a token gets when none are asked for (the API server's)."""
        ...

    def issue(self, spec: TokenSpec) -> IssuedToken:
        """A signed token saying what ``spec`` says."""
        ...

    def still_valid(self, token: str, spec: TokenSpec) -> bool:
        """Whether ``token`` is one of ours, unexpired, for ``spec``'s account and binding."""
        ...

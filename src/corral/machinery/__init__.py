"""The object model and the meeting points of the packages above it.

``machinery`` sits below ``apiserver`` and ``auth`` (DESIGN §2) so that the
two can meet without importing each other: the protocols the request
pipeline calls (`Authenticator` now; authorizer and admission later) and the
values they exchange (`UserInfo`) live here, as does the Kubernetes
``Status`` vocabulary every layer uses to say why a request failed. Nothing
here knows about HTTP frameworks or sockets.

Errors: one tree rooted at `StatusError`, documented in
`corral.machinery.status` (a Kubernetes ``Status`` per failure).
"""

from __future__ import annotations

from corral.machinery.authn import Authenticator, UserInfo
from corral.machinery.status import (
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    StatusError,
    UnauthorizedError,
)

__all__ = [
    "Authenticator",
    "InternalError",
    "MethodNotAllowedError",
    "NotFoundError",
    "StatusError",
    "UnauthorizedError",
    "UserInfo",
]

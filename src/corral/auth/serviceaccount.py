"""Authenticating service account tokens: a valid JWT whose account still exists.

`ServiceAccountAuthenticator` implements ``corral.machinery.authn.
Authenticator``. A bearer token is looked at only if it is a compact JWS
naming our signing key (anything else is some other authenticator's), then
checked by `ServiceAccountTokens.verify` (signature, issuer, audience,
times). Then, as kube-apiserver's validator does, the service account it
names must still exist with the uid in the token, and so must the Pod or
Secret it is bound to; an object whose deletion started more than `LEEWAY`
ago counts as gone. So deleting a service account (or the bound pod or
secret) ends its tokens at once, and a recreated account of the same name
does not inherit them.

Those existence checks must not scan anything per request (DESIGN "Index,
don't scan"): they go through an `ObjectReader`, which the server wires to
the API server's watch caches (kept current by watches; a point read of the
datastore when the cache does not have the object yet). The auth package
cannot import the API server (same layer), hence the protocol.

The user: ``system:serviceaccount:<ns>:<name>``, uid the account's, groups
``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and
``system:authenticated``; extra ``authentication.kubernetes.io/credential-id``
(``JTI=<jti>``) and, for a pod-bound token, ``…/pod-name`` and ``…/pod-uid``.
A rejected token is logged at debug level with the reason only — never the
token.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from corral.auth.bearer import bearer_token
from corral.auth.errors import InvalidTokenError
from corral.auth.satokens import LEEWAY, ServiceAccountTokens, TokenClaims, username
from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo

log = logging.getLogger("corral.auth")

SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
CREDENTIAL_ID_EXTRA = "authentication.kubernetes.io/credential-id"
POD_NAME_EXTRA = "authentication.kubernetes.io/pod-name"
POD_UID_EXTRA = "authentication.kubernetes.io/pod-uid"


class ObjectReader(Protocol):
    """Current core/v1 objects by name, from an index kept by a watch."""

    async def current(self, resource: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The object ``resource`` (``serviceaccounts``, ``pods``, ``secrets``)
        ``namespace/name`` as it is now, or None if there is none."""
        ...


class ServiceAccountAuthenticator:
    """Accepts service account JWTs signed by this server, while their objects exist."""

    def __init__(
        self,
        tokens: ServiceAccountTokens,
        objects: ObjectReader,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._objects = objects
        self._clock = clock

    async def authenticate(self, headers: Mapping[str, str]) -> UserInfo | None:
        token = bearer_token(headers)
        if token is None or not self._tokens.is_candidate(token):
            return None
        try:
            claims = self._tokens.verify(token)
        except InvalidTokenError as exc:
            log.debug("service account token rejected", extra={"reason": str(exc)})
            return None
        problem = await self._problem(claims)
        if problem:
            log.debug(
                "service account token rejected",
                extra={"reason": problem, "serviceaccount": f"{claims.namespace}/{claims.name}"},
            )
            return None
        return user_for(claims)

    async def _problem(self, claims: TokenClaims) -> str:
        """Why the token's objects no longer vouch for it ("" if they do)."""
        ns = claims.namespace
        if not await self._alive("serviceaccounts", ns, claims.name, claims.uid):
            return "service account deleted or replaced"
        if claims.secret is not None and not await self._alive(
            "secrets", ns, claims.secret.name, claims.secret.uid
        ):
            return "bound secret deleted or replaced"
        if claims.pod is not None and not await self._alive(
            "pods", ns, claims.pod.name, claims.pod.uid
        ):
            return "bound pod deleted or replaced"
        return ""

    async def _alive(self, resource: str, namespace: str, name: str, uid: str) -> bool:
        obj = await self._objects.current(resource, namespace, name)
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        if meta.get("uid") != uid:
            return False
        deleting = _timestamp(meta.get("deletionTimestamp"))
        return deleting is None or deleting >= self._clock() - LEEWAY


def user_for(claims: TokenClaims) -> UserInfo:
    """The Kubernetes user of a service account token."""
    extra: dict[str, tuple[str, ...]] = {}
    if claims.jti:
        extra[CREDENTIAL_ID_EXTRA] = (f"JTI={claims.jti}",)
    if claims.pod is not None:
        extra[POD_NAME_EXTRA] = (claims.pod.name,)
        extra[POD_UID_EXTRA] = (claims.pod.uid,)
    return UserInfo(
        name=username(claims.namespace, claims.name),
        uid=claims.uid,
        groups=(
            SERVICE_ACCOUNTS_GROUP,
            f"{SERVICE_ACCOUNTS_GROUP}:{claims.namespace}",
            AUTHENTICATED_GROUP,
        ),
        extra=extra,
    )


def _timestamp(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 time; None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()

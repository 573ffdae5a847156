"""Service account tokens: Kubernetes' JWT claims, signed and checked.

`ServiceAccountTokens` implements ``corral.machinery.satoken.TokenIssuer``
(the API server's TokenRequest and the tokens controller call it) and
checks tokens for the authenticator (`corral.auth.serviceaccount`). What a
token says is what kube-apiserver puts in one:

- ``iss``: `ISSUER`, ``https://kubernetes.default.svc.cluster.local`` —
  what kubeadm, k3s and most distributions pass as
  ``--service-account-issuer`` (kube-apiserver itself has no default), so
  workloads that check the issuer find the usual value. It names the
  in-cluster service, not Corral's external URL, so it does not change with
  ``--https-port`` or the host name.
- ``sub``: ``system:serviceaccount:<namespace>:<name>``.
- ``aud``: the requested audiences, else the API server's own
  (`audiences`: ``[iss]``, kube-apiserver's default for ``--api-audiences``).
- ``exp``, ``iat``, ``nbf`` (seconds since the epoch; ``nbf`` = ``iat`` =
  now) and ``jti`` (a random UUID, reported as the credential id).
- ``kubernetes.io``: ``namespace``, ``serviceaccount: {name, uid}`` and,
  for a bound token, ``pod: {name, uid}`` or ``secret: {name, uid}``.

A token without ``exp`` never expires; only Secret-bound tokens (the legacy
``kubernetes.io/service-account-token`` Secrets) may be issued or accepted
so. Checking (`verify`): the signature (`corral.auth.jws`), the issuer,
an audience shared with the API server's, ``exp``/``nbf``/``iat`` with
`LEEWAY` of clock skew (go-jose's default, which Kubernetes uses), and a
well-formed ``kubernetes.io`` claim matching ``sub``. Whether the account
and the bound object still exist is the authenticator's question.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from corral.auth import jws
from corral.auth.errors import InvalidTokenError
from corral.machinery.satoken import BoundRef, IssuedToken, TokenSpec

ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
#: Clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (seconds).
LEEWAY = 60.0
CLAIM = "kubernetes.io"


def username(namespace: str, name: str) -> str:
    """``system:serviceaccount:<namespace>:<name>``."""
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says about its holder."""

    namespace: str
    name: str
    uid: str
    jti: str = ""
    pod: BoundRef | None = None
    secret: BoundRef | None = None
    expires: dt.datetime | None = None


class ServiceAccountTokens:
    """Signs and checks service account JWTs with one ES256 key."""

    def __init__(
        self,
        key: jws.PrivateKey,
        *,
        issuer: str = ISSUER,
        audiences: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._kid = jws.key_id(key.public_key())
        self._keys: dict[str, jws.PublicKey] = {self._kid: key.public_key()}
        self._issuer = issuer
        self._audiences = audiences or (issuer,)
        self._clock = clock

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def audiences(self) -> tuple[str, ...]:
        """The API server's audiences: a token must name one of them to log in."""
        return self._audiences

    @property
    def key_id(self) -> str:
        return self._kid

    # -- issuing ------------------------------------------------------------

    def issue(self, spec: TokenSpec) -> IssuedToken:
        """A signed token for ``spec`` (see the module docstring for the claims)."""
        if spec.expiration_seconds is None and spec.secret is None:
            raise ValueError("only a Secret-bound token may be issued without an expiry")
        now = int(self._clock())
        audiences = spec.audiences or self._audiences
        private: dict[str, Any] = {
            "namespace": spec.namespace,
            "serviceaccount": {"name": spec.name, "uid": spec.uid},
        }
        if spec.pod is not None:
            private["pod"] = {"name": spec.pod.name, "uid": spec.pod.uid}
        elif spec.secret is not None:
            private["secret"] = {"name": spec.secret.name, "uid": spec.secret.uid}
        claims: dict[str, Any] = {"aud": list(audiences)}
        expires = None
        if spec.expiration_seconds is not None:
            claims["exp"] = now + spec.expiration_seconds
            expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
        claims.update(
            iat=now,
            iss=self._issuer,
            jti=str(uuid.uuid4()),
            nbf=now,
            sub=username(spec.namespace, spec.name),
        )
        claims[CLAIM] = private
        token = jws.sign(claims, self._key, self._kid)
        return IssuedToken(token, tuple(audiences), expires)

    # -- checking -----------------------------------------------------------

    def is_candidate(self, token: str) -> bool:
        """Cheap pre-check: a compact JWS naming one of our keys (unverified)."""
        try:
            return jws.peek_header(token).get("kid") in self._keys
        except InvalidTokenError:
            return False

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token for this API server; else `InvalidTokenError`."""
        payload = jws.verify(token, self._keys)
        if payload.get("iss") != self._issuer:
            raise InvalidTokenError("wrong issuer")
        aud = payload.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not any(
            isinstance(a, str) and a in self._audiences for a in audiences
        ):
            raise InvalidTokenError("token audiences do not include this API server")
        now = self._clock()
        exp = _number(payload, "exp")
        if exp is not None and now > exp + LEEWAY:
            raise InvalidTokenError("token has expired")
        nbf = _number(payload, "nbf")
        if nbf is not None and now + LEEWAY < nbf:
            raise InvalidTokenError("token is not valid yet")
        iat = _number(payload, "iat")
        if iat is not None and now + LEEWAY < iat:
            raise InvalidTokenError("token was issued in the future")
        claims = _kubernetes_claims(payload)
        if exp is None and claims.secret is None:
            raise InvalidTokenError("token has no expiry and is not bound to a secret")
        if payload.get("sub") != username(claims.namespace, claims.name):
            raise InvalidTokenError("subject does not match the service account")
        jti = payload.get("jti")
        expires = None if exp is None else _when(exp)
        return TokenClaims(
            claims.namespace,
            claims.name,
            claims.uid,
            jti if isinstance(jti, str) else "",
            claims.pod,
            claims.secret,
            expires,
        )

    def still_valid(self, token: str, spec: TokenSpec) -> bool:
        """True if ``token`` verifies and says what ``spec`` says (account and binding)."""
        try:
            claims = self.verify(token)
        except InvalidTokenError:
            return False
        return (
            (claims.namespace, claims.name, claims.uid) == (spec.namespace, spec.name, spec.uid)
            and claims.pod == spec.pod
            and claims.secret == spec.secret
        )


def _number(payload: Mapping[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTokenError(f"malformed {name} claim")
    return float(value)


def _when(seconds: float) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidTokenError("malformed exp claim") from None


def _ref(value: object, what: str) -> BoundRef:
    if not isinstance(value, dict):
        raise InvalidTokenError(f"malformed {what} claim")
    name, uid = value.get("name"), value.get("uid")
    if not isinstance(name, str) or not name or not isinstance(uid, str) or not uid:
        raise InvalidTokenError(f"malformed {what} claim")
    return BoundRef(name, uid)


def _kubernetes_claims(payload: Mapping[str, Any]) -> TokenClaims:
    private = payload.get(CLAIM)
    if not isinstance(private, dict):
        raise InvalidTokenError("missing kubernetes.io claim")
    namespace = private.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        raise InvalidTokenError("malformed namespace claim")
    account = _ref(private.get("serviceaccount"), "serviceaccount")
    pod = _ref(private["pod"], "pod") if private.get("pod") is not None else None
    secret = _ref(private["secret"], "secret") if private.get("secret") is not None else None
    if pod is not None and secret is not None:
        raise InvalidTokenError("token is bound to both a pod and a secret")
    return TokenClaims(namespace, account.name, account.uid, pod=pod, secret=secret)

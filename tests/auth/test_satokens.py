"""Service account JWTs: what a token says, and every way a bad one is refused.

Signing and checking are pure (a key and a clock), so these run without a
server: the claims Kubernetes puts in a token, the ES256 encoding (raw
``r || s``, base64url without padding), and rejection of tampered,
expired, not-yet-valid, wrong-audience, wrong-issuer, wrong-key and
malformed tokens.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from corral.auth import ISSUER, InvalidTokenError, ServiceAccountTokens, jws
from corral.auth.satokens import LEEWAY
from corral.machinery.satoken import BoundRef, TokenSpec
from corral.pki import certs

NOW = 1_800_000_000.0
SPEC = TokenSpec("team-a", "builder", "sa-uid-1")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def part(token: str, index: int) -> Any:
    return orjson.loads(b64d(token.split(".")[index]))


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return certs.new_key()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(key: ec.EllipticCurvePrivateKey, clock: Clock) -> ServiceAccountTokens:
    return ServiceAccountTokens(key, clock=clock)


def test_claims_are_kubernetes_claims(tokens: ServiceAccountTokens) -> None:
    issued = tokens.issue(SPEC)
    claims = part(issued.token, 1)
    assert claims["iss"] == ISSUER == "https://kubernetes.default.svc.cluster.local"
    assert claims["sub"] == "system:serviceaccount:team-a:builder"
    assert claims["aud"] == [ISSUER]
    assert claims["iat"] == claims["nbf"] == int(NOW)
    assert claims["exp"] == int(NOW) + 3600
    uuid.UUID(claims["jti"])
    assert claims["kubernetes.io"] == {
        "namespace": "team-a",
        "serviceaccount": {"name": "builder", "uid": "sa-uid-1"},
    }
    assert issued.audiences == (ISSUER,)
    assert issued.expires is not None
    assert issued.expires.timestamp() == int(NOW) + 3600
    assert issued.token not in repr(issued)


def test_bound_tokens_name_the_pod_or_secret(tokens: ServiceAccountTokens) -> None:
    pod = tokens.issue(TokenSpec("ns", "sa", "u", pod=BoundRef("web-0", "pod-uid")))
    assert part(pod.token, 1)["kubernetes.io"]["pod"] == {"name": "web-0", "uid": "pod-uid"}
    assert tokens.verify(pod.token).pod == BoundRef("web-0", "pod-uid")
    secret = tokens.issue(
        TokenSpec("ns", "sa", "u", expiration_seconds=None, secret=BoundRef("s", "s-uid"))
    )
    claims = part(secret.token, 1)
    assert "exp" not in claims
    assert secret.expires is None
    assert claims["kubernetes.io"]["secret"] == {"name": "s", "uid": "s-uid"}
    assert tokens.verify(secret.token).secret == BoundRef("s", "s-uid")


def test_only_secret_bound_tokens_may_live_forever(tokens: ServiceAccountTokens) -> None:
    with pytest.raises(ValueError, match="without an expiry"):
        tokens.issue(TokenSpec("ns", "sa", "u", expiration_seconds=None))


def test_header_and_es256_encoding(
    tokens: ServiceAccountTokens, key: ec.EllipticCurvePrivateKey
) -> None:
    token = tokens.issue(SPEC).token
    assert "=" not in token
    header = part(token, 0)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert header == {"alg": "ES256", "kid": kid}
    assert tokens.key_id == kid
    # An independent check with plain cryptography: the signature is raw r||s.
    raw = b64d(token.split(".")[2])
    assert len(raw) == 64
    signature = encode_dss_signature(
        int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    )
    signing_input = token.rsplit(".", 1)[0].encode()
    key.public_key().verify(signature, signing_input, ec.ECDSA(hashes.SHA256()))


def test_valid_token_verifies(tokens: ServiceAccountTokens) -> None:
    claims = tokens.verify(tokens.issue(SPEC).token)
    assert (claims.namespace, claims.name, claims.uid) == ("team-a", "builder", "sa-uid-1")
    assert claims.jti
    assert (claims.pod, claims.secret) == (None, None)


def _flip_last_char(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: _flip_last_char(t), id="signature"),
        pytest.param(
            lambda t: ".".join(
                [
                    t.split(".")[0],
                    jws.b64url(
                        orjson.dumps({**part(t, 1), "sub": "system:serviceaccount:team-a:admin"})
                    ),
                    t.split(".")[2],
                ]
            ),
            id="payload",
        ),
        pytest.param(lambda t: t.rsplit(".", 1)[0] + "." + jws.b64url(b"\0" * 64), id="zeros"),
        pytest.param(lambda t: t.rsplit(".", 1)[0] + ".", id="no-signature"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="two-parts"),
        pytest.param(lambda t: t + ".x", id="four-parts"),
        pytest.param(lambda t: "not a jwt", id="garbage"),
        pytest.param(lambda t: t.replace(t.split(".")[1], "!!!"), id="bad-base64"),
        pytest.param(lambda t: "a" * 20000 + "." + t, id="huge"),
    ],
)
def test_tampered_tokens_are_rejected(
    tokens: ServiceAccountTokens, tamper: Callable[[str], str]
) -> None:
    with pytest.raises(InvalidTokenError) as info:
        tokens.verify(tamper(tokens.issue(SPEC).token))
    assert "eyJ" not in str(info.value)  # never quotes the token


def test_wrong_key_is_rejected(tokens: ServiceAccountTokens, clock: Clock) -> None:
    other = ServiceAccountTokens(certs.new_key(), clock=clock)
    with pytest.raises(InvalidTokenError, match="unknown signing key"):
        tokens.verify(other.issue(SPEC).token)
    # Another key claiming to be ours by kid: the signature does not verify.
    payload = part(other.issue(SPEC).token, 1)
    forged = jws.sign(payload, certs.new_key(), kid=tokens.key_id)
    with pytest.raises(InvalidTokenError, match="bad signature"):
        tokens.verify(forged)
    assert not other.is_candidate(tokens.issue(SPEC).token)
    assert tokens.is_candidate(forged)  # looks ours; only verification tells


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "ES384"])
def test_other_algorithms_are_rejected(tokens: ServiceAccountTokens, alg: str) -> None:
    token = tokens.issue(SPEC).token
    header = jws.b64url(orjson.dumps({"alg": alg, "kid": tokens.key_id}))
    with pytest.raises(InvalidTokenError, match="algorithm"):
        tokens.verify(header + token[token.index(".") :])


def test_wrong_audience_is_rejected(tokens: ServiceAccountTokens) -> None:
    token = tokens.issue(TokenSpec("ns", "sa", "u", audiences=("vault",))).token
    assert part(token, 1)["aud"] == ["vault"]
    with pytest.raises(InvalidTokenError, match="audience"):
        tokens.verify(token)
    # One of several audiences being ours is enough.
    both = tokens.issue(TokenSpec("ns", "sa", "u", audiences=("vault", ISSUER))).token
    assert tokens.verify(both).name == "sa"


def test_server_audiences_are_configurable(key: ec.EllipticCurvePrivateKey, clock: Clock) -> None:
    api = ServiceAccountTokens(key, audiences=("api", "corral"), clock=clock)
    assert api.audiences == ("api", "corral")
    assert part(api.issue(SPEC).token, 1)["aud"] == ["api", "corral"]
    default = ServiceAccountTokens(key, clock=clock)
    with pytest.raises(InvalidTokenError, match="audience"):
        default.verify(api.issue(SPEC).token)


def test_expired_tokens_are_rejected_after_the_leeway(
    tokens: ServiceAccountTokens, clock: Clock
) -> None:
    token = tokens.issue(TokenSpec("ns", "sa", "u", expiration_seconds=600)).token
    clock.now = NOW + 600 + LEEWAY - 1  # a little clock skew is tolerated
    assert tokens.verify(token).name == "sa"
    clock.now = NOW + 600 + LEEWAY + 1
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify(token)


def test_tokens_from_the_future_are_rejected(tokens: ServiceAccountTokens, clock: Clock) -> None:
    token = tokens.issue(SPEC).token
    clock.now = NOW - LEEWAY + 1
    assert tokens.verify(token).name == "builder"
    clock.now = NOW - LEEWAY - 5
    with pytest.raises(InvalidTokenError, match="not valid yet"):
        tokens.verify(token)


def _signed(tokens: ServiceAccountTokens, key: ec.EllipticCurvePrivateKey, **change: Any) -> str:
    payload = {**part(tokens.issue(SPEC).token, 1), **change}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jws.sign(payload, key)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": "https://evil.example"}, "issuer"),
        ({"iss": None}, "issuer"),
        ({"aud": None}, "audience"),
        ({"aud": ISSUER}, ""),  # a single string is a valid aud
        ({"exp": None}, "no expiry"),
        ({"exp": "soon"}, "exp"),
        ({"sub": "system:serviceaccount:team-a:other"}, "subject"),
        ({"kubernetes.io": None}, "kubernetes.io"),
        ({"kubernetes.io": {"namespace": "team-a"}}, "serviceaccount"),
        (
            {
                "kubernetes.io": {
                    "namespace": "team-a",
                    "serviceaccount": {"name": "builder", "uid": "x"},
                    "pod": {"name": "p", "uid": "1"},
                    "secret": {"name": "s", "uid": "2"},
                }
            },
            "both",
        ),
    ],
)
def test_claims_are_checked(
    tokens: ServiceAccountTokens,
    key: ec.EllipticCurvePrivateKey,
    change: dict[str, Any],
    reason: str,
) -> None:
    token = _signed(tokens, key, **change)
    if not reason:
        assert tokens.verify(token).name == "builder"
        return
    with pytest.raises(InvalidTokenError, match=reason):
        tokens.verify(token)


def test_still_valid_compares_account_and_binding(tokens: ServiceAccountTokens) -> None:
    spec = TokenSpec("ns", "sa", "u", expiration_seconds=None, secret=BoundRef("s", "s-uid"))
    token = tokens.issue(spec).token
    assert tokens.still_valid(token, spec)
    assert not tokens.still_valid(token, TokenSpec("ns", "sa", "other-uid", secret=spec.secret))
    assert not tokens.still_valid(token, TokenSpec("ns", "sa", "u", secret=BoundRef("s", "new")))
    assert not tokens.still_valid("garbage", spec)


def test_b64url_decoding_is_strict() -> None:
    assert jws.b64url_decode(jws.b64url(b"\xff\xfe")) == b"\xff\xfe"
    for bad in ("ab=", "a+b", "a/b", "abcde", "a b", "AB"):  # "AB": non-zero unused bits
        with pytest.raises(InvalidTokenError):
            jws.b64url_decode(bad)


def test_every_other_last_signature_character_is_rejected(tokens: ServiceAccountTokens) -> None:
    # The last base64url character of a 64-byte signature carries 4 unused bits:
    # only the canonical spelling may verify, so a token cannot be re-spelled.
    token = tokens.issue(SPEC).token
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for char in alphabet:
        if char == token[-1]:
            continue
        with pytest.raises(InvalidTokenError):
            tokens.verify(token[:-1] + char)

"""Who a caller is: authenticators, the bootstrap admin credentials, service account tokens.

Implements the `corral.machinery.Authenticator` protocol the API server
calls:

- `BootstrapTokenAuthenticator`: the bootstrap admin token, issued with its
  kubeconfig at start-up (`ensure_admin_credentials`). Tokens are only ever
  kept as SHA-256 hashes.
- `ServiceAccountAuthenticator`: Kubernetes service account JWTs (ES256),
  signed and checked by `ServiceAccountTokens`, which also implements
  ``corral.machinery.satoken.TokenIssuer`` for the API server's
  ``serviceaccounts/token`` and the tokens controller.
- `CorralTokenAuthenticator`: Corral's own tokens (``token-xxxxx:<secret>``,
  as Bearer, Basic or the session cookie) of enabled users, looked up in a
  `TokenIndex` kept current by watches; `UsageRecorder` writes
  ``lastUsedAt`` at most once a minute per token.

Local users: `PasswordHashes` (argon2id) and `PasswordPolicy`;
`LoginRateLimiter` backs off repeated login failures.

No token ever reaches a log or an error message.

Errors (`corral.auth.errors`), one tree:

    AuthError
    ├── BootstrapError       the admin token record or admin.kubeconfig cannot be read or written
    ├── SharedMaterialError  the CA, signing key or admin token the replicas share is unusable
    ├── InvalidTokenError    a presented token is malformed, forged, expired or not for us
    └── PasswordPolicyError  a new password does not satisfy the password policy
"""

from __future__ import annotations

from corral.auth.admin import AdminCredentials, ensure_admin_credentials
from corral.auth.bootstrap import ADMIN_TOKEN_KEY, ADMIN_USER, BootstrapTokenAuthenticator
from corral.auth.corraltokens import (
    TokenString,
    hash_secret,
    new_token,
    parse_token,
    presented_token,
    secret_matches,
)
from corral.auth.errors import (
    AuthError,
    BootstrapError,
    InvalidTokenError,
    PasswordPolicyError,
    SharedMaterialError,
)
from corral.auth.loginlimit import LoginRateLimiter
from corral.auth.passwords import DEFAULT_MIN_LENGTH, PasswordHashes, PasswordPolicy
from corral.auth.satokens import ISSUER, ServiceAccountTokens, TokenClaims
from corral.auth.serviceaccount import ObjectReader, ServiceAccountAuthenticator
from corral.auth.tokenauthn import (
    LOCAL_GROUP,
    CorralTokenAuthenticator,
    TokenIndex,
    UsageRecorder,
    parse_time,
    rfc3339,
)

__all__ = [
    "ADMIN_TOKEN_KEY",
    "ADMIN_USER",
    "DEFAULT_MIN_LENGTH",
    "ISSUER",
    "LOCAL_GROUP",
    "AdminCredentials",
    "AuthError",
    "BootstrapError",
    "BootstrapTokenAuthenticator",
    "CorralTokenAuthenticator",
    "InvalidTokenError",
    "LoginRateLimiter",
    "ObjectReader",
    "PasswordHashes",
    "PasswordPolicy",
    "PasswordPolicyError",
    "ServiceAccountAuthenticator",
    "ServiceAccountTokens",
    "SharedMaterialError",
    "TokenClaims",
    "TokenIndex",
    "TokenString",
    "UsageRecorder",
    "ensure_admin_credentials",
    "hash_secret",
    "new_token",
    "parse_time",
    "parse_token",
    "presented_token",
    "rfc3339",
    "secret_matches",
]

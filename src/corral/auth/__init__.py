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

No token ever reaches a log or an error message.

Errors (`corral.auth.errors`), one tree:

    AuthError
    ├── BootstrapError       the admin token record or admin.kubeconfig cannot be read or written
    ├── SharedMaterialError  the CA, signing key or admin token the replicas share is unusable
    └── InvalidTokenError    a presented token is malformed, forged, expired or not for us
"""

from __future__ import annotations

from corral.auth.admin import AdminCredentials, ensure_admin_credentials
from corral.auth.bootstrap import ADMIN_TOKEN_KEY, ADMIN_USER, BootstrapTokenAuthenticator
from corral.auth.errors import AuthError, BootstrapError, InvalidTokenError, SharedMaterialError
from corral.auth.satokens import ISSUER, ServiceAccountTokens, TokenClaims
from corral.auth.serviceaccount import ObjectReader, ServiceAccountAuthenticator

__all__ = [
    "ADMIN_TOKEN_KEY",
    "ADMIN_USER",
    "ISSUER",
    "AdminCredentials",
    "AuthError",
    "BootstrapError",
    "BootstrapTokenAuthenticator",
    "InvalidTokenError",
    "ObjectReader",
    "ServiceAccountAuthenticator",
    "ServiceAccountTokens",
    "SharedMaterialError",
    "TokenClaims",
    "ensure_admin_credentials",
]

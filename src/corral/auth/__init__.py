"""Who a caller is: authenticators and the bootstrap admin credentials.

Implements the `corral.machinery.Authenticator` protocol the API server
calls. For now there is one authenticator, for the bootstrap admin token
(`BootstrapTokenAuthenticator`), and the start-up step that issues that
token and its kubeconfig (`ensure_admin_credentials`). Tokens are only ever
kept as SHA-256 hashes and never reach a log or an error message.

Errors (`corral.auth.errors`), one tree:

    AuthError
    └── BootstrapError   the admin token record or admin.kubeconfig cannot be read or written
"""

from __future__ import annotations

from corral.auth.admin import AdminCredentials, ensure_admin_credentials
from corral.auth.bootstrap import ADMIN_TOKEN_KEY, ADMIN_USER, BootstrapTokenAuthenticator
from corral.auth.errors import AuthError, BootstrapError

__all__ = [
    "ADMIN_TOKEN_KEY",
    "ADMIN_USER",
    "AdminCredentials",
    "AuthError",
    "BootstrapError",
    "BootstrapTokenAuthenticator",
    "ensure_admin_credentials",
]

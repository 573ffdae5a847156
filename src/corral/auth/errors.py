"""The auth package's errors: one tree, so callers catch by meaning.

Messages name files and keys, never a token or a hash.

    AuthError
    ├── BootstrapError       the admin token record or admin.kubeconfig cannot be read or written
    ├── SharedMaterialError  the CA, signing key or admin token the replicas share is unusable
    ├── InvalidTokenError    a presented token is malformed, forged, expired or not for us
    └── PasswordPolicyError  a new password does not satisfy the password policy
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of every error the auth package raises."""


class BootstrapError(AuthError):
    """The bootstrap admin credentials cannot be stored or written out."""


class SharedMaterialError(AuthError):
    """The bootstrap material shared through the datastore cannot be agreed on:
    a local file that is not the shared one, a damaged record, a failed read."""


class InvalidTokenError(AuthError):
    """A token cannot be accepted. The message says why in a few words, never
    quoting the token; authenticators turn it into "not authenticated"."""


class PasswordPolicyError(AuthError):
    """A new password is refused by the policy; the message is for the user
    and never quotes the password."""

"""Who a proxied request runs as downstream: the Corral user, impersonated.

The request leaves with the cluster's service-account token (full rights
on that cluster), so the identity it carries is what limits it:
``Impersonate-User`` is the Corral user's name and ``Impersonate-Group`` the
user's groups, minus every ``system:`` group except ``system:authenticated``
(``system:masters`` in Corral must not be ``system:masters`` downstream).
After ``kubectl --as``, which Corral's own impersonation filter allowed or
refused before the proxy runs, the user is the impersonated one.

Identities that are not Corral users — service accounts, Corral's own
components and anything else named ``system:…`` — are refused: nothing
leaves for them. `check_outgoing` is the last look before sending: the
request must carry exactly one ``Impersonate-User``, ours, and no other
``Impersonate-*`` header than ours.
"""

from __future__ import annotations

from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo
from corral.proxy.errors import ImpersonationMissing
from corral.proxy.headers import Headers

NOT_A_CORRAL_USER = "only Corral users may reach downstream clusters"

_USER = b"impersonate-user"
_GROUP = b"impersonate-group"


def is_corral_user(user: UserInfo) -> bool:
    """True for Corral's users; false for service accounts and system identities."""
    return bool(user.name) and not user.name.startswith("system:")


def forwarded_groups(user: UserInfo) -> list[str]:
    """The groups sent downstream: every non-``system:`` group, and ``system:authenticated``."""
    groups = [g for g in user.groups if not g.startswith("system:")]
    return [AUTHENTICATED_GROUP, *dict.fromkeys(groups)]


def impersonation_headers(user: UserInfo) -> Headers:
    """``Impersonate-User`` and ``Impersonate-Group`` for ``user``."""
    out = [(_USER, user.name.encode("utf-8"))]
    out += [(_GROUP, group.encode("utf-8")) for group in forwarded_groups(user)]
    return out


def check_outgoing(headers: Headers, user: UserInfo) -> None:
    """Raise `ImpersonationMissing` unless ``headers`` impersonate exactly ``user``."""
    users = [value for name, value in headers if name == _USER]
    if users != [user.name.encode("utf-8")]:
        raise ImpersonationMissing("the request does not carry Corral's Impersonate-User")
    ours = set(impersonation_headers(user))
    for header in headers:
        if header[0].startswith(b"impersonate-") and header not in ours:
            raise ImpersonationMissing(
                "the request carries an Impersonate header Corral did not set"
            )
